"""Incremental linking latency and accuracy: new ads against the clusters of a resolved workspace.

Usage::

    flock /tmp/vendorlink-bench.lock python benchmarks/resolve_incremental.py \\
        --workspace /tmp/vendorlink-bench/demo-matched/workspace   # resolved first if needed

The workspace is *copied* (the original is never modified) and resolved if it has no
fitted resolver. ``--n-ads`` random clustered ads are taken out of ``resolve_clusters``
(they stay ingested and extracted: "new" ads), then linked back one call per ad with
:func:`vendorlink.resolve.incremental.link_new_ads`. Reported: the first call (loads the
linker), the median and max of the later single-ad calls, and how often an ad is put in a
cluster whose most common true vendor is its own (``truth`` label source), or left alone
when its vendor has no other ad in the clusters.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from vendorlink.data.workspace import Workspace
from vendorlink.resolve.incremental import link_new_ads
from vendorlink.resolve.stage import run_resolve


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--n-ads", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench-out/resolve_incremental.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vl-incremental-") as tmp:
        shutil.copytree(args.workspace, Path(tmp) / "ws")
        ws = Workspace.open(Path(tmp) / "ws")
        if not (ws.artefacts / "resolve" / "model" / "settings.yaml").exists():
            run_resolve(ws, progress=True, charts=False)
        with ws.connect() as con:
            clustered = [r[0] for r in con.execute("SELECT ad_id FROM resolve_clusters").fetchall()]
            rng = np.random.default_rng(args.seed)
            new = [str(a) for a in rng.choice(clustered, size=args.n_ads, replace=False)]
            con.execute("DELETE FROM resolve_clusters WHERE list_contains(?, ad_id)", [new])
            truth = dict(
                con.execute(
                    "SELECT ad_id, vendor FROM labels WHERE label_source = 'truth'"
                ).fetchall()
            )
            members = con.execute("SELECT ad_id, cluster FROM resolve_clusters").fetchall()
        majority: dict[int, str] = {}
        by_cluster: dict[int, list[str]] = {}
        for ad_id, cluster in members:
            by_cluster.setdefault(int(cluster), []).append(truth.get(ad_id, ""))
        for cluster, vendors in by_cluster.items():
            majority[cluster] = max(set(vendors), key=vendors.count)
        remaining_vendors = {truth.get(a) for a, _ in members}
        seconds, correct, via = [], 0, {}
        for ad_id in new:
            t0 = time.perf_counter()
            row = link_new_ads(ws, [ad_id])[0]
            seconds.append(time.perf_counter() - t0)
            via[row["via"]] = via.get(row["via"], 0) + 1
            vendor = truth.get(ad_id)
            if row["cluster"] is None:
                correct += vendor not in remaining_vendors
            else:
                correct += majority.get(row["cluster"]) == vendor
    later = seconds[1:]
    result = {
        "workspace": str(args.workspace),
        "n_clustered_ads": len(clustered) - args.n_ads,
        "n_new_ads": args.n_ads,
        "first_call_seconds": round(seconds[0], 3),
        "median_seconds_per_ad": round(statistics.median(later), 4) if later else None,
        "max_seconds_per_ad": round(max(later), 4) if later else None,
        "correct_cluster_rate": round(correct / args.n_ads, 4),
        "via": via,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
