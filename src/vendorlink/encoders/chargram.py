"""Stylometric text encoder: character (and word) n-gram TF-IDF scored by linear models.

Authorship attribution work finds most of the style signal of short texts in character
n-grams (spelling, punctuation, emoji, casing habits, recurring phrases). Their TF-IDF
vectors have hundreds of thousands of sparse dimensions, which a trained vendor model on
dense encoder vectors cannot take directly; what it can take is what a linear model makes
of them. :class:`CharGramStyle` is that component:

1. **Blocks** of n-gram features (default: characters 2-5, words 1-2), each a TF-IDF
   (sublinear TF ``1 + ln tf``, smooth IDF ``ln((1 + n) / (1 + df)) + 1``, L2-normalised
   rows) over a vocabulary of at most ``max_features`` n-grams seen in at least ``min_df``
   training texts.
2. **Linear scorers**: per block, a one-vs-rest linear SVM over the known vendors; a text's
   style vector is the decision scores of every block (``n_blocks x n_vendors`` values),
   divided by one scale per block (the standard deviation of its training scores).
3. **Cross-fitting** (stacking without leakage): the texts the component was fitted on get
   *out-of-fold* scores -- those of the fold model (``folds``-fold, stratified) that did not
   see the text -- so a model trained on top of them learns how reliable the scores are on
   unseen text. Every other text gets the scores of the models fitted on all training texts.
   The out-of-fold vectors are stored keyed by the SHA-1 of the text (the key of the
   embedding cache), so :meth:`CharGramStyle.transform` stays a function of the text (an
   exact duplicate of a training text gets the out-of-fold scores too); a caller that knows
   which rows are training rows passes ``fitted`` flags, and every other row gets full
   scores (what the tweets benchmark does).

Only the texts and labels given to :meth:`CharGramStyle.fit` are used: fit it on the
training part of a split, never on test texts.

:class:`StyleStackEncoder` puts the style vector next to a neural text encoder's vector
(default all-MiniLM-L6-v2): one text encoder whose ``(n, base_dim + style_dim)`` rows are the
L2-normalised base vector followed by the style vector. It is an ordinary text encoder for
the rest of vendorlink: ``embed_ads`` caches its vectors under its name (which carries a
fingerprint of the fitted component), and ``vendorlink train --text-encoder FOLDER`` trains
the vendor model on them (the projection of the text branch then fuses the two).
``StyleStackEncoder.save(folder)`` writes everything (no pickle: JSON and ``.npy``);
``load_encoder(folder)`` loads it back with identical outputs. There is no torch or ONNX
module behind the style part: ``backend`` applies to the base encoder only, and fine-tuning
regimes cannot train it.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vendorlink.encoders.base import Encoder, EncoderError, Feed
from vendorlink.encoders.cache import text_key

if TYPE_CHECKING:
    import scipy.sparse
    import torch

__all__ = [
    "STACK_KIND",
    "CharGramConfig",
    "CharGramStyle",
    "NgramBlock",
    "StyleStackEncoder",
]

STACK_KIND = "style-stack"
STYLE_FOLDER = "style"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class NgramBlock:
    """One n-gram feature block: ``analyzer`` ``"char"`` or ``"word"``, n-gram lengths."""

    analyzer: str = "char"
    ngram_min: int = 2
    ngram_max: int = 5
    lowercase: bool = True

    def __post_init__(self) -> None:
        if self.analyzer not in ("char", "word"):
            raise EncoderError(f"n-gram analyzer must be 'char' or 'word', got {self.analyzer!r}")
        if not 1 <= self.ngram_min <= self.ngram_max:
            raise EncoderError(
                f"n-gram lengths must satisfy 1 <= min <= max, got {self.ngram_min}-"
                f"{self.ngram_max}"
            )

    @property
    def label(self) -> str:
        return f"{self.analyzer}{self.ngram_min}-{self.ngram_max}"

    def vectorizer(self, vocabulary: list[str] | None = None, **options: Any) -> Any:
        """A scikit-learn ``CountVectorizer`` for this block (fixed vocabulary if given)."""
        from sklearn.feature_extraction.text import CountVectorizer

        return CountVectorizer(
            analyzer=self.analyzer,
            ngram_range=(self.ngram_min, self.ngram_max),
            lowercase=self.lowercase,
            token_pattern=r"(?u)\b\w+\b|[^\w\s]" if self.analyzer == "word" else None,
            vocabulary=vocabulary,
            dtype=np.float32,
            **options,
        )


@dataclass
class CharGramConfig:
    """Options of :class:`CharGramStyle` (saved with it).

    ``blocks``: the n-gram feature blocks (default char 2-5 and word 1-2); ``min_df`` and
    ``max_features`` per block; ``C``: the SVMs' regularisation; ``folds``: cross-fitting
    folds for the training texts' scores; ``seed``: fold assignment and SVM seed.
    """

    blocks: tuple[NgramBlock, ...] = field(
        default_factory=lambda: (NgramBlock("char", 2, 5), NgramBlock("word", 1, 2))
    )
    min_df: int = 2
    max_features: int = 500_000
    C: float = 1.0
    folds: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        self.blocks = tuple(
            b if isinstance(b, NgramBlock) else NgramBlock(**b) for b in self.blocks
        )
        if not self.blocks:
            raise EncoderError("a char n-gram style model needs at least one n-gram block")
        if self.folds < 2:
            raise EncoderError(f"cross-fitting needs at least 2 folds, got {self.folds}")
        if self.min_df < 1 or self.max_features < 1 or self.C <= 0:
            raise EncoderError("min_df and max_features must be at least 1 and C positive")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _FittedBlock:
    """A block's vocabulary, IDF weights and linear scorer (``coef`` is classes x features)."""

    block: NgramBlock
    vocabulary: list[str]
    idf: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    scale: float
    _vectorizer: Any = None

    def tfidf(self, texts: Sequence[str]) -> scipy.sparse.csr_matrix:
        if self._vectorizer is None:
            self._vectorizer = self.block.vectorizer(self.vocabulary)
        return _weight(self._vectorizer.transform(texts), self.idf)

    def scores(self, x: scipy.sparse.csr_matrix) -> np.ndarray:
        raw = np.asarray(x @ self.coef.T, dtype=np.float32) + self.intercept
        return raw / np.float32(self.scale)


def _weight(counts: Any, idf: np.ndarray) -> scipy.sparse.csr_matrix:
    """Sublinear TF x IDF, rows L2-normalised (what ``TfidfVectorizer`` computes)."""
    import scipy.sparse
    from sklearn.preprocessing import normalize

    x = scipy.sparse.csr_matrix(counts, dtype=np.float32)
    x.data = 1.0 + np.log(x.data)
    x = x @ scipy.sparse.diags(idf.astype(np.float32))
    return normalize(x, norm="l2", copy=False).tocsr()


class CharGramStyle:
    """Fitted stylometric model: n-gram TF-IDF blocks and cross-fitted linear scores.

    Build with :meth:`fit` (training texts and vendor labels) or :meth:`load`.
    """

    def __init__(
        self,
        config: CharGramConfig,
        classes: list[str],
        blocks: list[_FittedBlock],
        oof_keys: list[str],
        oof: np.ndarray,
    ) -> None:
        self.config = config
        self.classes = classes
        self.blocks = blocks
        self._oof_row = {k: i for i, k in enumerate(oof_keys)}
        self._oof_keys = oof_keys
        self.oof = oof.astype(np.float32)
        self.fingerprint = self._fingerprint()

    @property
    def dim(self) -> int:
        """Width of a style vector: one score per block and known vendor."""
        return len(self.blocks) * len(self.classes)

    # -- fitting ----------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        labels: Sequence[Any],
        config: CharGramConfig | None = None,
        progress: bool = False,
    ) -> CharGramStyle:
        """Fit on training ``texts`` and their vendor ``labels`` (nothing else is seen)."""
        from sklearn.model_selection import StratifiedKFold

        from vendorlink.progress import progress_bar

        config = config or CharGramConfig()
        texts = [str(t) for t in texts]
        y = np.asarray([str(v) for v in labels], dtype=object)
        if len(texts) != len(y):
            raise EncoderError(f"{len(texts)} texts but {len(y)} labels")
        # distinct texts only (a repeated text keeps its first label): a text's out-of-fold
        # score must come from a model that never saw it, so duplicates cannot straddle folds
        keys = [text_key(t) for t in texts]
        first: dict[str, int] = {}
        for i, k in enumerate(keys):
            first.setdefault(k, i)
        rows = np.fromiter(first.values(), dtype=np.int64)
        y_rows = y[rows]
        classes, counts = np.unique(y_rows, return_counts=True)
        if len(classes) < 2:
            raise EncoderError("the style model needs texts of at least 2 vendors")
        # a vendor with fewer texts than folds is absent from some fold models (its score
        # there is the constant -1 of _svm): its out-of-fold scores stay honest, just weak
        folds = min(config.folds, int(counts.max()))
        if folds < 2:
            raise EncoderError("cross-fitting needs a vendor with at least 2 distinct texts")
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=config.seed)
        fold_of = np.zeros(len(rows), dtype=np.int64)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The least populated class")
            for f, (_, held) in enumerate(splitter.split(rows, y_rows)):
                fold_of[held] = f
        n_folds = int(fold_of.max()) + 1
        fitted: list[_FittedBlock] = []
        oof_parts: list[np.ndarray] = []
        total = len(config.blocks) * (n_folds + 1)
        with progress_bar("char n-gram style model", total, progress) as advance:
            for block in config.blocks:
                vectorizer = block.vectorizer(
                    min_df=min(config.min_df, max(1, len(rows) // 2)),
                    max_features=config.max_features,
                )
                counts_x = vectorizer.fit_transform([texts[i] for i in rows])
                df = np.bincount(counts_x.indices, minlength=counts_x.shape[1])
                idf = (np.log((1.0 + len(rows)) / (1.0 + df)) + 1.0).astype(np.float32)
                x = _weight(counts_x, idf)
                coef, intercept = _svm(x, y_rows, classes, config)
                advance(1)
                oof = np.zeros((len(rows), len(classes)), dtype=np.float32)
                for f in range(n_folds):
                    train_rows, held = fold_of != f, fold_of == f
                    c, b = _svm(x[train_rows], y_rows[train_rows], classes, config)
                    oof[held] = np.asarray(x[held] @ c.T) + b
                    advance(1)
                scale = float(max(oof.std(), 1e-6))
                vocabulary = [""] * len(vectorizer.vocabulary_)
                for gram, j in vectorizer.vocabulary_.items():
                    vocabulary[j] = gram
                fitted.append(_FittedBlock(block, vocabulary, idf, coef, intercept, scale))
                oof_parts.append(oof / np.float32(scale))
        oof_all = np.concatenate(oof_parts, axis=1)
        return cls(config, classes.tolist(), fitted, [keys[i] for i in rows], oof_all)

    # -- scoring ----------------------------------------------------------------------------
    def full_scores(self, texts: Sequence[str]) -> np.ndarray:
        """Scores of the models fitted on all training texts (no out-of-fold lookup)."""
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        k = len(self.classes)
        for b, block in enumerate(self.blocks):
            out[:, b * k : (b + 1) * k] = block.scores(block.tfidf(texts))
        return out

    def transform(
        self, texts: Sequence[str], fitted: Sequence[bool] | np.ndarray | None = None
    ) -> np.ndarray:
        """Style vectors ``(n, dim)``.

        ``fitted=None`` (what :class:`StyleStackEncoder` uses): out-of-fold scores for every
        text the model was fitted on, full scores otherwise -- a function of the text alone,
        so cached vectors stay valid; an exact duplicate of a training text outside the
        training rows then gets its out-of-fold scores too. ``fitted``, a bool per text:
        out-of-fold scores for the flagged rows (each must be a fitted text) and full scores
        for all others, duplicates included -- for callers that know which rows are training
        rows.
        """
        texts = [str(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        seen = [self._oof_row.get(text_key(t), -1) for t in texts]
        if fitted is not None:
            flags = np.asarray(fitted, dtype=bool)
            if flags.shape != (len(texts),):
                raise EncoderError(f"fitted has shape {flags.shape}, expected ({len(texts)},)")
            unknown = [i for i in np.flatnonzero(flags) if seen[i] < 0]
            if unknown:
                raise EncoderError(
                    f"{len(unknown)} texts flagged as fitted were not fitted on (e.g. row "
                    f"{unknown[0]})"
                )
            seen = [r if flag else -1 for r, flag in zip(seen, flags.tolist(), strict=True)]
        new = [i for i, r in enumerate(seen) if r < 0]
        old = [i for i, r in enumerate(seen) if r >= 0]
        if old:
            out[old] = self.oof[[seen[i] for i in old]]
        if new:
            out[new] = self.full_scores([texts[i] for i in new])
        return out

    def predict(
        self, texts: Sequence[str], fitted: Sequence[bool] | np.ndarray | None = None
    ) -> np.ndarray:
        """The vendor of the highest summed block score, per text (the linear ensemble)."""
        scores = self.transform(texts, fitted).reshape(len(texts), len(self.blocks), -1)
        return np.asarray(self.classes, dtype=object)[scores.sum(axis=1).argmax(axis=1)]

    def fitted_keys(self) -> list[str]:
        """SHA-1 keys of the distinct texts the model was fitted on, in fitting order."""
        return list(self._oof_keys)

    # -- saving -----------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write ``style.json``, per block ``<i>.vocab.json`` / ``.idf.npy`` / ``.coef.npy`` /
        ``.intercept.npy``, and ``oof_keys.json`` + ``oof.npy`` into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "classes": self.classes,
            "scales": [b.scale for b in self.blocks],
            "fingerprint": self.fingerprint,
        }
        for i, block in enumerate(self.blocks):
            (folder / f"block{i}.vocab.json").write_text(
                json.dumps(block.vocabulary, ensure_ascii=False), encoding="utf-8"
            )
            np.save(folder / f"block{i}.idf.npy", block.idf)
            np.save(folder / f"block{i}.coef.npy", block.coef)
            np.save(folder / f"block{i}.intercept.npy", block.intercept)
        (folder / "oof_keys.json").write_text(json.dumps(self._oof_keys), encoding="utf-8")
        np.save(folder / "oof.npy", self.oof)
        (folder / "style.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> CharGramStyle:
        """Load a folder written by :meth:`save` (checks the stored fingerprint)."""
        folder = Path(folder)
        meta_path = folder / "style.json"
        if not meta_path.is_file():
            raise EncoderError(f"{folder} has no style.json; it is not a saved style model")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise EncoderError(f"{meta_path}: unsupported format {meta.get('format')!r}")
        config = CharGramConfig(**meta["config"])
        blocks = []
        try:
            for i, block in enumerate(config.blocks):
                vocabulary = json.loads((folder / f"block{i}.vocab.json").read_text("utf-8"))
                blocks.append(
                    _FittedBlock(
                        block,
                        vocabulary,
                        np.load(folder / f"block{i}.idf.npy", allow_pickle=False),
                        np.load(folder / f"block{i}.coef.npy", allow_pickle=False),
                        np.load(folder / f"block{i}.intercept.npy", allow_pickle=False),
                        float(meta["scales"][i]),
                    )
                )
            keys = json.loads((folder / "oof_keys.json").read_text("utf-8"))
            oof = np.load(folder / "oof.npy", allow_pickle=False)
        except FileNotFoundError as exc:
            raise EncoderError(f"{folder} is incomplete: {exc.filename} is missing") from exc
        style = cls(config, list(meta["classes"]), blocks, keys, oof)
        if style.fingerprint != meta.get("fingerprint"):
            raise EncoderError(f"{folder}: the files do not match the stored fingerprint")
        return style

    def _fingerprint(self) -> str:
        digest = hashlib.sha256()
        digest.update(json.dumps([self.config.to_dict(), self.classes]).encode())
        for block in self.blocks:
            digest.update("\x00".join(block.vocabulary).encode("utf-8"))
            for array in (block.idf, block.coef, block.intercept):
                digest.update(np.ascontiguousarray(array).tobytes())
            digest.update(repr(block.scale).encode())
        digest.update("".join(self._oof_keys).encode())
        digest.update(np.ascontiguousarray(self.oof).tobytes())
        return digest.hexdigest()


def _svm(
    x: scipy.sparse.csr_matrix, y: np.ndarray, classes: np.ndarray, config: CharGramConfig
) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest linear SVM; ``(coef, intercept)`` with one row per class of ``classes``."""
    from sklearn.svm import LinearSVC

    with warnings.catch_warnings():  # many small vendors look like "a regression target"
        warnings.filterwarnings("ignore", message="The number of unique classes")
        model = LinearSVC(C=config.C, random_state=config.seed).fit(x, y)
    coef = np.zeros((len(classes), x.shape[1]), dtype=np.float32)
    intercept = np.full(len(classes), -1.0, dtype=np.float32)  # a class absent from a fold
    position = {c: i for i, c in enumerate(classes.tolist())}
    fitted = model.classes_.tolist()
    rows = [position[c] for c in fitted]
    if len(fitted) == 2:  # binary LinearSVC keeps one row: the score of classes_[1]
        coef[rows[1]], intercept[rows[1]] = model.coef_[0], model.intercept_[0]
        coef[rows[0]], intercept[rows[0]] = -model.coef_[0], -model.intercept_[0]
    else:
        coef[rows], intercept[rows] = model.coef_, model.intercept_
    return coef, intercept


class StyleStackEncoder(Encoder):
    """A neural text encoder's vector followed by a :class:`CharGramStyle` vector.

    ``base``: the neural text encoder (spec for ``load_encoder`` or an encoder object);
    ``style_weight`` multiplies the style part. Output: ``(n, base.dim + style.dim)``
    float32, base part L2-normalised.
    """

    modality = "text"

    def __init__(
        self,
        style: CharGramStyle,
        base: str | Encoder = "minilm",
        *,
        style_weight: float = 1.0,
        **options: Any,
    ) -> None:
        from vendorlink.encoders.base import load_encoder

        if isinstance(base, Encoder):
            self.base = base
            self.base_spec = base.base_name
        else:
            self.base_spec = str(base)
            self.base = load_encoder(base, modality="text", **options)
        if self.base.modality != "text":
            raise EncoderError(f"the base of a style stack must be a text encoder: {self.base}")
        self.style = style
        self.style_weight = float(style_weight)
        super().__init__(
            base_name=f"{self.base.base_name}+chargram:{style.fingerprint[:16]}",
            dim=self.base.dim + style.dim,
            backend=self.base.backend,
            device=self.base.device,
            batch_size=self.base.batch_size,
        )

    @property
    def name(self) -> str:
        suffix = "" if self.style_weight == 1.0 else f"x{self.style_weight:g}"
        return f"{self.base.name}+chargram:{self.style.fingerprint[:16]}{suffix}"

    def encode(self, batch: Sequence[Any], *, batch_size: int | None = None) -> np.ndarray:
        if isinstance(batch, (str, bytes)):
            raise EncoderError("encode() takes a list of texts, not a single string")
        texts = [str(t) for t in batch]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.combine(self.base.encode(texts, batch_size=batch_size), texts)

    def combine(
        self,
        base_vectors: np.ndarray,
        texts: Sequence[str],
        fitted: Sequence[bool] | np.ndarray | None = None,
    ) -> np.ndarray:
        """Rows of this encoder from the base encoder's vectors of ``texts`` (already
        computed, e.g. cached) and the texts themselves; ``fitted`` as in
        :meth:`CharGramStyle.transform`."""
        texts = [str(t) for t in texts]
        base = np.asarray(base_vectors, dtype=np.float32)
        if base.shape != (len(texts), self.base.dim):
            raise EncoderError(
                f"base vectors have shape {base.shape}, expected ({len(texts)}, {self.base.dim})"
            )
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        norms = np.linalg.norm(base, axis=1, keepdims=True)
        out[:, : self.base.dim] = base / np.maximum(norms, 1e-12)
        style = self.style.transform(texts, fitted)
        out[:, self.base.dim :] = style * np.float32(self.style_weight)
        return out

    def torch_module(self) -> torch.nn.Module:
        raise EncoderError(
            f"{self.name}: the char n-gram style part has no torch module (it cannot be "
            "fine-tuned or exported); use the frozen regime"
        )

    def _feeds(self, batch: Sequence[Any], batch_size: int) -> Iterator[tuple[np.ndarray, Feed]]:
        raise EncoderError(f"{self.name} encodes with encode() only")

    def _example_feed(self) -> Feed:
        raise EncoderError(f"{self.name} cannot be exported to ONNX")

    def save(self, folder: str | Path, overwrite: bool = False) -> Path:
        """Write ``config.json`` (base spec, weight) and the style model in ``style/``,
        atomically; ``load_encoder(folder)`` loads it back."""
        from vendorlink.atomic import staging_dir

        if not _portable_spec(self.base_spec):
            raise EncoderError(
                f"base encoder {self.base_spec!r} is not a registered name or a folder; "
                "it cannot be reloaded from a saved style stack"
            )
        folder = Path(folder)
        with staging_dir(folder, overwrite) as tmp:
            self.style.save(tmp / STYLE_FOLDER)
            config = {
                "vendorlink_encoder": STACK_KIND,
                "modality": "text",
                "base": self.base_spec,
                "style_weight": self.style_weight,
                "dim": self.dim,
                "name": self.name,
            }
            (tmp / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        return folder


def _portable_spec(spec: str) -> bool:
    from vendorlink.encoders.base import available_encoders

    return spec.lower() in available_encoders() or Path(spec).expanduser().is_dir()


def load_style_stack(folder: str | Path, **options: Any) -> StyleStackEncoder:
    """Load a :class:`StyleStackEncoder` saved with ``save`` (options go to the base)."""
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    if config.get("vendorlink_encoder") != STACK_KIND:
        raise EncoderError(f"{folder} does not hold a style stack encoder")
    options.pop("modality", None)
    style = CharGramStyle.load(folder / STYLE_FOLDER)
    encoder = StyleStackEncoder(
        style, config["base"], style_weight=float(config.get("style_weight", 1.0)), **options
    )
    if config.get("dim") not in (None, encoder.dim):
        raise EncoderError(f"{folder}: stored dim {config['dim']} != loaded {encoder.dim}")
    return encoder
