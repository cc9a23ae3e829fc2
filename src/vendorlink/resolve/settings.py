"""One settings object for a resolve run: fields, blocking rules, comparisons, model, threshold.

Like Splink's settings, a :class:`ResolveSettings` describes a whole linkage as data, so it
can be written to YAML, versioned, and read back::

    link_type: dedupe                # or link_only (pairs only across sources)
    fields:                          # typed fields of the record table (column mapping)
      - {name: text, kind: text, column: masked_text}
      - {name: phones, kind: string_list}
    blocking:
      - {kind: rare_tokens, field: text, ngram: 1, max_df: 20}
      - {kind: exact, keys: [postcode]}
    comparisons:
      - {kind: exact, field: region}
      - {kind: lcs, field: text}
    model: {kind: random_forest, params: {n_estimators: 200}}
    training: {proxy_field: phones, n_positive: 5000, n_negative: 20000}
    threshold: {method: auto, max_component_fraction: 0.05}
    clustering: {method: connected_components}

Field kinds (``FIELD_KINDS``) say how a column is normalised (see
:mod:`vendorlink.resolve.records`); blocking kinds (``BLOCKING_KINDS``) and comparison
kinds (``COMPARISON_KINDS``) say which field kinds each one accepts. ``validate()`` checks
all of this and names the offending entry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import MISSING, asdict, dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml

from vendorlink.errors import InputError

FIELD_KINDS: dict[str, str] = {
    "text": "free text; tokenised into lower-case word unigrams and bigrams",
    "string": "a short string compared as a whole (a name, an address line)",
    "category": "a code compared for equality (city, region, postcode, state)",
    "number": "a number (counts, ages, street numbers)",
    "timestamp": "a date or date-time (posting time, date of birth)",
    "string_list": "a list of strings (phones, emails, names, ethnicities, rates)",
    "hash_list": "a list of 64-bit perceptual image hashes as 16-digit hex strings",
    "embedding": "a float vector (text or image embedding)",
}

# blocking kind -> field kinds it accepts (None: takes ``keys`` instead of one ``field``)
BLOCKING_KINDS: dict[str, tuple[str, ...] | None] = {
    "rare_tokens": ("text",),
    "shared_values": ("string_list", "hash_list", "category", "string"),
    "hash_bands": ("hash_list",),
    "exact": None,
    "knn": ("embedding",),
}

_STRINGY = ("string", "category", "text")
# comparison kind -> field kinds it accepts
COMPARISON_KINDS: dict[str, tuple[str, ...]] = {
    "exact": ("string", "category", "number", "timestamp", "text"),
    "jaro_winkler": _STRINGY,
    "levenshtein": _STRINGY,
    "token_set_ratio": _STRINGY,
    "jaccard": ("text", "string_list", "hash_list"),
    "char_jaccard": _STRINGY,
    "lcs": ("text", "string"),
    "count_diff": ("text",),
    "abs_diff": ("number", "timestamp"),
    "same_day": ("timestamp",),
    "both_present": tuple(FIELD_KINDS),
    "either_present": tuple(FIELD_KINDS),
    "shared_count": ("string_list", "hash_list"),
    "min_hamming": ("hash_list",),
    "near_count": ("hash_list",),
    "cosine": ("embedding",),
}

MODEL_KINDS = ("logistic_regression", "naive_bayes", "random_forest", "gradient_boosting")
THRESHOLD_METHODS = ("auto", "fixed", "bound", "knee", "f1")
CLUSTERING_METHODS = ("connected_components", "correlation")
LINK_TYPES = ("dedupe", "link_only")


class SettingsError(InputError):
    """A resolve settings file or object is invalid; the message names the entry."""


@dataclass
class FieldSpec:
    """One typed field of the record table. ``column`` is the input column (default: ``name``)."""

    name: str
    kind: str
    column: str | None = None

    @property
    def source_column(self) -> str:
        return self.column or self.name


@dataclass
class BlockingRule:
    """One blocking rule; every pair of records it puts in a common block is a candidate.

    - ``rare_tokens``: records share a word n-gram (``ngram`` 1 or 2) of text ``field`` whose
      document frequency is between 2 and ``max_df`` (an int, or a fraction of records when
      below 1); ``max_tokens_per_record`` keeps only each record's rarest n-grams.
      With ``window`` > 0, an n-gram shared by more than ``max_df`` but at most
      ``window_max_df`` records (an int, or a fraction of records below 1, so the cap
      scales with the data) pairs each record with the next ``window`` records holding it
      (sorted neighbourhood): linear in the block size, and transitive clustering joins
      the chain.
    - ``shared_values``: records share a value of list ``field`` (at most ``max_df`` records
      per value; ``window`` / ``window_max_df`` as for ``rare_tokens``).
    - ``hash_bands``: records have image hashes within Hamming distance ``max_hamming``; the
      64-bit hash is cut into ``bands`` bands and hashes sharing a band are verified (LSH).
      Every pair within ``bands - 1`` bits is found; farther pairs only if a band agrees.
    - ``exact``: records agree on every SQL expression in ``keys`` (field names, DuckDB
      functions, and the ``soundex(x)`` function vendorlink registers).
    - ``knn``: each record's ``k`` nearest neighbours by cosine of embedding ``field`` with
      cosine at least ``min_cosine`` (FAISS when installed, NumPy otherwise).
    """

    kind: str
    field: str | None = None
    keys: list[str] = dataclasses.field(default_factory=list)
    ngram: int = 1
    max_df: float = 50
    max_tokens_per_record: int | None = None
    window: int = 0
    window_max_df: float = 0.001
    bands: int = 4
    max_hamming: int = 8
    k: int = 10
    min_cosine: float = 0.0
    name: str | None = None

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.kind == "exact":
            return "exact:" + "+".join(self.keys)
        suffix = f"/{self.ngram}" if self.kind == "rare_tokens" else ""
        return f"{self.kind}:{self.field}{suffix}"


@dataclass
class Comparison:
    """One pair feature: a comparison ``kind`` of ``field`` (see ``COMPARISON_KINDS``).

    Options used by some kinds: ``ngram`` (``jaccard`` of text: word n-gram size;
    ``char_jaccard``: character n-gram size), ``unit`` and ``max_len`` (``lcs``: ``token`` or
    ``char``, sequences cut to ``max_len``), ``what`` (``count_diff``: ``special_chars``,
    ``unique_tokens``, ``tokens`` or ``chars``), ``unit`` for ``abs_diff`` of timestamps
    (``days`` or ``hours``), ``max_hamming`` (``near_count``).
    """

    kind: str
    field: str
    ngram: int = 1
    unit: str | None = None
    max_len: int = 64
    what: str = "special_chars"
    max_hamming: int = 10
    name: str | None = None

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        extra = ""
        if self.kind in ("jaccard", "char_jaccard") and self.ngram != 1:
            extra = f"/{self.ngram}"
        elif self.kind == "count_diff":
            extra = f"/{self.what}"
        elif self.kind == "lcs" and self.unit:
            extra = f"/{self.unit}"
        elif self.kind == "near_count":
            extra = f"/{self.max_hamming}"
        return f"{self.kind}:{self.field}{extra}"


@dataclass
class ModelSettings:
    """The match function: a scikit-learn classifier ``kind`` with keyword ``params``;
    ``n_threads`` caps its OpenMP / BLAS threads (``null``: no cap)."""

    kind: str = "random_forest"
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    n_threads: int | None = 1


@dataclass
class TrainingSettings:
    """How training pairs are drawn (see :mod:`vendorlink.resolve.training_pairs`).

    With ``proxy_field`` set, positives are pairs of records in one connected component of
    the shared-``proxy_field`` graph and negatives are candidate pairs from different
    components; a positive whose unigram Jaccard of ``text_field`` is at least
    ``near_duplicate_jaccard`` is kept with probability ``near_duplicate_keep`` (Nagpal
    §3.2 bias against near-duplicates). Without it, pairs are labelled by the record
    table's true labels (structured benchmarks). ``identifier_guard`` leaves out proxy
    values shared by implausibly many ads, names or cities (:mod:`vendorlink.resolve.guard`).
    """

    proxy_field: str | None = "phones"
    text_field: str | None = "text"
    n_positive: int = 5000
    n_negative: int = 20000
    max_pairs_per_component: int = 200
    near_duplicate_jaccard: float = 0.8
    near_duplicate_keep: float = 0.1
    random_negative_fraction: float = 0.0
    test_fraction: float = 0.25
    # identifiers shared by implausibly many ads / names / cities link nothing (see
    # vendorlink.resolve.guard): above guard_factor (names, cities) or guard_ads_factor (ads;
    # 0 = not used) times the 99th percentile over the shared values
    identifier_guard: bool = True
    guard_factor: float = 3.0
    guard_ads_factor: float = 0.0


@dataclass
class ThresholdSettings:
    """How the match threshold is chosen (see :mod:`vendorlink.resolve.threshold`).

    ``fixed`` uses ``value``; ``bound`` takes the lowest threshold whose largest component
    stays within the bound; ``knee`` takes the knee of the largest-component curve, just
    above the snowball (then applies the bound); ``f1`` the threshold with the best B-cubed
    F1 against known labels, true or proxy (within the bound); ``auto`` is ``f1`` when
    there are labels and ``knee`` otherwise. The bound is ``max_component_size`` or, when
    unset, the larger of ``min_component_bound`` and ``max_component_fraction`` of the
    sampled records. The curve is computed on ``sample_size`` random records (Nagpal used
    10,000). ``holdout_fraction``: the share of ads whose identifiers are hidden when the
    link threshold of clusters joined with identifier communities is chosen.
    """

    method: str = "auto"
    value: float = 0.5
    max_component_size: int | None = None
    max_component_fraction: float = 0.05
    min_component_bound: int = 25
    sample_size: int | None = 10000
    n_grid: int = 99
    holdout_fraction: float = 0.3


@dataclass
class ClusteringSettings:
    """``connected_components`` of edges at the threshold, or ``correlation`` clustering
    (pivot plus ``n_passes`` of local moves, ``unscored_penalty`` per pair never scored),
    which resists chaining (see :mod:`vendorlink.resolve.clustering`). With
    ``complete_components``, correlation clustering first scores every unscored pair
    inside each connected component of at most ``max_component_size`` records."""

    method: str = "connected_components"
    n_passes: int = 5
    unscored_penalty: float = 0.5
    complete_components: bool = True
    max_component_size: int = 300
    # where match edges join the identifier communities: weak edges (below the threshold +
    # link_strong_margin of the way to 1) join two groups only with link_min_support of
    # them (1: plain connected components; see clustering.supported_components)
    link_min_support: int = 2
    link_strong_margin: float = 0.5


@dataclass
class ResolveSettings:
    """Everything a resolve run needs, as data (loadable from YAML)."""

    fields: list[FieldSpec] = dataclasses.field(default_factory=list)
    blocking: list[BlockingRule] = dataclasses.field(default_factory=list)
    comparisons: list[Comparison] = dataclasses.field(default_factory=list)
    model: ModelSettings = dataclasses.field(default_factory=ModelSettings)
    training: TrainingSettings = dataclasses.field(default_factory=TrainingSettings)
    threshold: ThresholdSettings = dataclasses.field(default_factory=ThresholdSettings)
    clustering: ClusteringSettings = dataclasses.field(default_factory=ClusteringSettings)
    link_type: str = "dedupe"
    record_id: str = "record_id"
    source_column: str | None = None
    label_column: str | None = None
    batch_size: int = 50000
    workers: int = 1
    seed: int = 0

    # ---- lookup -------------------------------------------------------------------------
    def field_spec(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise SettingsError(f"no field named {name!r}; fields are {[f.name for f in self.fields]}")

    def model_comparisons(self) -> list[Comparison]:
        """The comparisons the match function sees (never one on the proxy field)."""
        proxy = self.training.proxy_field
        return [c for c in self.comparisons if c.field != proxy]

    # ---- validation ---------------------------------------------------------------------
    def validate(self) -> ResolveSettings:
        """Check names and kinds; raise :class:`SettingsError` naming the bad entry."""
        if self.link_type not in LINK_TYPES:
            raise SettingsError(f"link_type {self.link_type!r} is not one of {LINK_TYPES}")
        if self.link_type == "link_only" and not self.source_column:
            raise SettingsError("link_type 'link_only' needs source_column")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise SettingsError(f"field names repeat: {names}")
        kinds = {}
        for i, spec in enumerate(self.fields):
            if spec.kind not in FIELD_KINDS:
                raise SettingsError(
                    f"fields[{i}] ({spec.name}): kind {spec.kind!r} is not one of "
                    f"{list(FIELD_KINDS)}"
                )
            kinds[spec.name] = spec.kind
        for i, rule in enumerate(self.blocking):
            where = f"blocking[{i}] ({rule.label})"
            if rule.kind not in BLOCKING_KINDS:
                raise SettingsError(
                    f"{where}: kind {rule.kind!r} is not one of {list(BLOCKING_KINDS)}"
                )
            accepted = BLOCKING_KINDS[rule.kind]
            if accepted is None:
                if not rule.keys:
                    raise SettingsError(f"{where}: an exact rule needs at least one key")
                continue
            if rule.field not in kinds:
                raise SettingsError(f"{where}: field {rule.field!r} is not a declared field")
            if kinds[rule.field] not in accepted:
                raise SettingsError(
                    f"{where}: field {rule.field!r} is {kinds[rule.field]}; {rule.kind} takes "
                    f"{accepted}"
                )
            if rule.kind == "rare_tokens" and rule.ngram not in (1, 2):
                raise SettingsError(f"{where}: ngram must be 1 or 2")
            if rule.kind == "hash_bands" and (64 % rule.bands or not 1 <= rule.bands <= 16):
                raise SettingsError(f"{where}: bands must divide 64 (1, 2, 4, 8 or 16)")
        labels = [c.label for c in self.comparisons]
        if len(set(labels)) != len(labels):
            raise SettingsError(f"comparison labels repeat: {labels}; give one a name")
        for i, comp in enumerate(self.comparisons):
            where = f"comparisons[{i}] ({comp.label})"
            if comp.kind not in COMPARISON_KINDS:
                raise SettingsError(
                    f"{where}: kind {comp.kind!r} is not one of {list(COMPARISON_KINDS)}"
                )
            if comp.field not in kinds:
                raise SettingsError(f"{where}: field {comp.field!r} is not a declared field")
            if kinds[comp.field] not in COMPARISON_KINDS[comp.kind]:
                raise SettingsError(
                    f"{where}: field {comp.field!r} is {kinds[comp.field]}; {comp.kind} takes "
                    f"{COMPARISON_KINDS[comp.kind]}"
                )
            if comp.field == self.training.proxy_field:
                raise SettingsError(
                    f"{where}: compares the proxy field {comp.field!r}; the proxy labels the "
                    "training pairs and must never be an input of the match function"
                )
        if self.training.proxy_field and self.training.proxy_field not in kinds:
            raise SettingsError(
                f"training.proxy_field {self.training.proxy_field!r} is not a declared field"
            )
        if self.training.text_field and self.training.text_field not in kinds:
            raise SettingsError(
                f"training.text_field {self.training.text_field!r} is not a declared field"
            )
        if self.clustering.link_min_support < 1:
            raise SettingsError("clustering.link_min_support must be at least 1")
        if not 0.0 <= self.clustering.link_strong_margin <= 1.0:
            raise SettingsError("clustering.link_strong_margin must be between 0 and 1")
        if not self.training.guard_factor > 0:
            raise SettingsError("training.guard_factor must be positive")
        if self.training.guard_ads_factor < 0:
            raise SettingsError("training.guard_ads_factor must be 0 (off) or positive")
        if self.model.kind not in MODEL_KINDS:
            raise SettingsError(f"model.kind {self.model.kind!r} is not one of {MODEL_KINDS}")
        if self.threshold.method not in THRESHOLD_METHODS:
            raise SettingsError(
                f"threshold.method {self.threshold.method!r} is not one of {THRESHOLD_METHODS}"
            )
        if self.clustering.method not in CLUSTERING_METHODS:
            raise SettingsError(
                f"clustering.method {self.clustering.method!r} is not one of {CLUSTERING_METHODS}"
            )
        return self

    # ---- (de)serialisation --------------------------------------------------------------
    def to_dict(self, compact: bool = True) -> dict[str, Any]:
        """Plain data; ``compact`` leaves out list entries' options left at their defaults."""
        out = asdict(self)
        if compact:
            for key, cls in (
                ("fields", FieldSpec),
                ("blocking", BlockingRule),
                ("comparisons", Comparison),
            ):
                defaults = {
                    f.name: f.default if f.default is not MISSING else f.default_factory()
                    for f in fields(cls)
                    if f.default is not MISSING or f.default_factory is not MISSING
                }
                out[key] = [
                    {k: v for k, v in entry.items() if k not in defaults or v != defaults[k]}
                    for entry in out[key]
                ]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResolveSettings:
        data = dict(data)
        try:
            out = cls(
                fields=[
                    _build(FieldSpec, d, f"fields[{i}]")
                    for i, d in enumerate(data.pop("fields", []))
                ],
                blocking=[
                    _build(BlockingRule, d, f"blocking[{i}]")
                    for i, d in enumerate(data.pop("blocking", []))
                ],
                comparisons=[
                    _build(Comparison, d, f"comparisons[{i}]")
                    for i, d in enumerate(data.pop("comparisons", []))
                ],
                model=_build(ModelSettings, data.pop("model", {}), "model"),
                training=_build(TrainingSettings, data.pop("training", {}), "training"),
                threshold=_build(ThresholdSettings, data.pop("threshold", {}), "threshold"),
                clustering=_build(ClusteringSettings, data.pop("clustering", {}), "clustering"),
                **_check_keys(cls, data, "settings"),
            )
        except TypeError as exc:
            raise SettingsError(f"bad resolve settings: {exc}") from exc
        return out.validate()

    def to_yaml(self, path: str | Path | None = None) -> str:
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        if path is not None:
            from vendorlink.atomic import atomic_write_text

            atomic_write_text(Path(path), text)
        return text

    @classmethod
    def from_yaml(cls, source: str | Path) -> ResolveSettings:
        """Read settings from a YAML file path or a YAML string."""
        if isinstance(source, Path) or (
            isinstance(source, str) and "\n" not in source and Path(source).exists()
        ):
            text = Path(source).read_text(encoding="utf-8")
        else:
            text = str(source)
        data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise SettingsError("resolve settings YAML must be a mapping at the top level")
        return cls.from_dict(data)


def _check_keys(cls: type, data: dict[str, Any], where: str) -> dict[str, Any]:
    allowed = {f.name for f in fields(cls)}
    unknown = set(data) - allowed
    if unknown:
        raise SettingsError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    return data


def _build(cls: type, data: Any, where: str) -> Any:
    if is_dataclass(data):
        return data
    if not isinstance(data, dict):
        raise SettingsError(f"{where}: expected a mapping, got {type(data).__name__}")
    return cls(**_check_keys(cls, dict(data), where))


# ---- presets ------------------------------------------------------------------------------
def ads_settings(
    *,
    with_images: bool = True,
    with_embeddings: bool = False,
    embedding_fields: Sequence[str] = (),
) -> ResolveSettings:
    """Nagpal et al.'s pipeline for ads: rare unigram / bigram / image blocks, Table 2 features.

    Text is the *masked* text (phone numbers and emails replaced), so text features cannot
    leak the proxy label. Shared phones are the proxy and never a feature. Each of
    ``embedding_fields`` (e.g. ``text_embedding``, ``image_embedding`` from
    :mod:`vendorlink.resolve.embeddings`; ``with_embeddings``: one field ``embedding``) adds
    a cosine feature, and text embeddings a kNN blocking rule (FAISS).
    """
    fields_ = [
        FieldSpec("text", "text"),
        FieldSpec("phones", "string_list"),
        FieldSpec("emails", "string_list"),
        FieldSpec("names", "string_list"),
        FieldSpec("ethnicities", "string_list"),
        FieldSpec("rates", "string_list"),
        FieldSpec("restrictions", "string_list"),
        FieldSpec("posted_at", "timestamp"),
        FieldSpec("city", "category"),
        FieldSpec("region", "category"),
    ]
    # rare n-grams pair all holders; commoner ones (up to 1% of the records: the cap grows
    # with the data) pair each holder with the next two (sorted neighbourhood)
    blocking = [
        BlockingRule("rare_tokens", "text", ngram=1, max_df=20, max_tokens_per_record=20,
                     window=2, window_max_df=0.01),
        BlockingRule("rare_tokens", "text", ngram=2, max_df=20, max_tokens_per_record=20,
                     window=2, window_max_df=0.01),
        BlockingRule("shared_values", "names", max_df=50, window=2, window_max_df=0.01),
    ]  # fmt: skip
    comparisons = [
        Comparison("exact", "region"),
        Comparison("exact", "city"),
        Comparison("count_diff", "text", what="special_chars"),
        Comparison("lcs", "text", unit="token", max_len=64),
        Comparison("count_diff", "text", what="unique_tokens"),
        Comparison("abs_diff", "posted_at", unit="days"),
        Comparison("same_day", "posted_at"),
        *[
            Comparison(kind, name)
            for name in ("ethnicities", "rates", "restrictions", "names")
            for kind in ("both_present", "either_present")
        ],
        Comparison("jaccard", "names"),
        Comparison("jaccard", "rates"),
        Comparison("jaccard", "text", ngram=1),
        Comparison("jaccard", "text", ngram=2),
        Comparison("token_set_ratio", "text"),
        Comparison("shared_count", "emails"),
    ]
    if with_images:
        fields_.append(FieldSpec("image_hashes", "hash_list"))
        blocking.append(BlockingRule("hash_bands", "image_hashes", bands=4, max_hamming=6))
        comparisons += [
            Comparison("shared_count", "image_hashes"),
            Comparison("min_hamming", "image_hashes"),
        ]
    names = list(embedding_fields) or (["embedding"] if with_embeddings else [])
    for name in names:
        fields_.append(FieldSpec(name, "embedding"))
        if name != "image_embedding":  # image hashes already block near-identical pictures
            blocking.append(BlockingRule("knn", name, k=10, min_cosine=0.5))
        comparisons.append(Comparison("cosine", name))
    return ResolveSettings(
        fields=fields_,
        blocking=blocking,
        comparisons=comparisons,
        model=ModelSettings("random_forest", {"n_estimators": 200, "min_samples_leaf": 2}),
        training=TrainingSettings(proxy_field="phones", text_field="text"),
        record_id="ad_id",
    ).validate()


def text_ads_settings() -> ResolveSettings:
    """Text-only ads at any scale (the scaling benchmark): blocking caps that scale with N.

    Rare unigrams and bigrams (each record's rarest ones) pair all records of blocks of up
    to 20 / 6 records; commoner n-grams, up to 1% of the records, pair each record with
    the next two holding them (sorted neighbourhood), so the pairs stay linear in N while
    large vendors stay connected. The costly ``token_set_ratio`` comparison is left out;
    the model is histogram gradient boosting (fast to score tens of millions of pairs).
    """
    base = ads_settings(with_images=False)
    base.blocking = [
        BlockingRule("rare_tokens", "text", ngram=1, max_df=20, max_tokens_per_record=10,
                     window=2, window_max_df=0.01),
        BlockingRule("rare_tokens", "text", ngram=2, max_df=6, max_tokens_per_record=10,
                     window=2, window_max_df=0.01),
        BlockingRule("shared_values", "names", max_df=20, window=2, window_max_df=0.01),
    ]  # fmt: skip
    base.comparisons = [c for c in base.comparisons if c.kind != "token_set_ratio"]
    base.model = ModelSettings("gradient_boosting", {"max_iter": 200, "learning_rate": 0.1})
    base.threshold.sample_size = None
    base.threshold.n_grid = 19
    return base.validate()
