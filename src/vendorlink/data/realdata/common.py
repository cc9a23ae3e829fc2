"""Shared pieces of the real-data loaders: the output folder contract, atomic writes, ids.

Every loader writes one *ingest folder*::

    OUT/
      ads.csv         # ID, TEXT, IMAGES, VENDOR (+ extra columns); UTF-8, header row
      images/         # files named in IMAGES (paths relative to this folder), may be empty
      rejects.csv     # every source item left out, with the reason (never dropped silently)
      manifest.json   # source, package version, counts, leak-removal steps applied, options

``TEXT`` joins a title and a description with ``" [SEP] "`` (the MATCHED convention);
``IMAGES`` joins image paths with ``"|"`` and is empty for a text-only item. The folder is
built in a temporary sibling folder and renamed into place, so a reader never sees a
half-written folder; an existing non-empty folder is only replaced with ``overwrite=True``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from vendorlink import __version__
from vendorlink.atomic import check_target, staging_dir  # noqa: F401  (re-exported)

SEP = " [SEP] "
IMAGE_SEPARATOR = "|"
ADS_FILE = "ads.csv"
REJECTS_FILE = "rejects.csv"
MANIFEST_FILE = "manifest.json"
IMAGES_DIR = "images"
CONTRACT_COLUMNS: tuple[str, ...] = ("ID", "TEXT", "IMAGES", "VENDOR")
FORMAT_VERSION = 1

# Links: full or cut-off URLs, www., bare links (bit.ly/xyz) and bare site names (cnn.com).
_TLDS = (
    "com|org|net|edu|gov|info|biz|co|uk|ca|us|de|fr|au|in|it|me|ms|to|rs|ws|ly|gl|gd|fm|tv"
    "|io|al|st|cc|nu|am|be|ch|es|eu|ie|nz|tk|ti"
)
URL_RE = re.compile(
    r"(?:https?://|https?:/|https?:|www\.)\S*"  # full or cut-off links
    r"|\bh(?:t(?:t(?:p(?:s)?)?)?)?…(?=\s|$)"  # links cut off right after "h", "ht", ...
    r"|\b(?:[a-z0-9][a-z0-9-]*\.)+(?:" + _TLDS + r")/\S*"  # bare links: bit.ly/xyz
    r"|\b(?:[a-z0-9][a-z0-9-]*\.)+(?:com|org|net|edu|gov)\b",  # bare site names: cnn.com
    re.IGNORECASE,
)
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)


@dataclass(frozen=True)
class LeakStep:
    """One leak-removal step: what it does and how many items it changed (or removed)."""

    name: str
    description: str
    items_affected: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "description": self.description,
            "items_affected": self.items_affected,
        }


@dataclass(frozen=True)
class LoadedDataset:
    """A written ingest folder and what its manifest says about it."""

    path: Path
    n_items: int
    n_vendors: int
    n_rejects: int
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def ads_csv(self) -> Path:
        return self.path / ADS_FILE

    @property
    def images_dir(self) -> Path:
        return self.path / IMAGES_DIR

    @property
    def rejects_csv(self) -> Path:
        return self.path / REJECTS_FILE

    def read_ads(self) -> pd.DataFrame:
        """``ads.csv`` as strings (empty cells stay empty strings, never NaN)."""
        return read_csv_strings(self.ads_csv)

    def read_rejects(self) -> pd.DataFrame:
        return read_csv_strings(self.rejects_csv)


def read_csv_strings(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def stable_id(prefix: str, key: str, n_hex: int = 16) -> str:
    """``prefix-`` + the first ``n_hex`` hex digits of SHA-256(key): same key, same id."""
    return f"{prefix}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:n_hex]}"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def write_ads_csv(ads: pd.DataFrame, path: Path) -> None:
    """Write ``ads`` with the contract columns first, then any extra columns, as UTF-8."""
    missing = [c for c in CONTRACT_COLUMNS if c not in ads.columns]
    if missing:
        raise ValueError(f"ads table lacks contract columns {missing}")
    if ads["ID"].duplicated().any():
        dup = ads.loc[ads["ID"].duplicated(), "ID"].iloc[0]
        raise ValueError(f"ads table has a repeated ID {dup!r}")
    columns = list(CONTRACT_COLUMNS) + [c for c in ads.columns if c not in CONTRACT_COLUMNS]
    ads[columns].to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def write_rejects_csv(rows: Iterable[Sequence[str]], header: Sequence[str], path: Path) -> int:
    """Write one row per item left out; returns the number of rows written."""
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            n += 1
    return n


def write_manifest(manifest: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def base_manifest(dataset: str) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "format": {
            "name": "vendorlink ingest folder",
            "version": FORMAT_VERSION,
            "columns": list(CONTRACT_COLUMNS),
            "text_separator": SEP,
            "image_separator": IMAGE_SEPARATOR,
        },
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "created_by": f"vendorlink {__version__}",
    }


def vendor_counts(vendors: pd.Series) -> dict[str, int]:
    counts = vendors.value_counts()
    return {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}


def text_leak_check(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    seed: int = 1111,
    test_size: float = 0.2,
    ngram_range: tuple[int, int] = (2, 5),
    analyzer: str = "char",
    max_features: int | None = 500_000,
) -> dict[str, float | int]:
    """Accuracy and macro-F1 of a char n-gram TF-IDF + LinearSVC on a stratified split.

    A quick check for label leaks in text: a linear model on character 2-5-grams
    (TF-IDF with sublinear TF and ``min_df=2``, fitted on the training part only) is trained on
    ``1 - test_size`` of the items, stratified by label, and scored on the rest. Accuracy
    is the share of test items labelled correctly; macro-F1 is the unweighted mean of the
    per-label F1 scores. Labels with fewer than two items are left out (they cannot be
    stratified). A score near 1.0 on data that should be hard means the text names its
    author somewhere.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split
    from sklearn.svm import LinearSVC

    frame = pd.DataFrame({"text": list(texts), "label": list(labels)})
    sizes = frame["label"].map(frame["label"].value_counts())
    frame = frame[sizes >= 2]
    x_train, x_test, y_train, y_test = train_test_split(
        frame["text"],
        frame["label"],
        test_size=test_size,
        random_state=seed,
        stratify=frame["label"],
    )
    vectoriser = TfidfVectorizer(
        analyzer=analyzer,
        ngram_range=ngram_range,
        sublinear_tf=True,
        min_df=2,
        max_features=max_features,
    )
    model = LinearSVC(C=1.0, random_state=seed)
    model.fit(vectoriser.fit_transform(x_train), y_train)
    predicted = model.predict(vectoriser.transform(x_test))
    return {
        "accuracy": round(float(accuracy_score(y_test, predicted)), 4),
        "macro_f1": round(float(f1_score(y_test, predicted, average="macro")), 4),
        "n_train": len(x_train),
        "n_test": len(x_test),
        "n_labels": int(frame["label"].nunique()),
    }
