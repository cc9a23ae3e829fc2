"""The resolve stage on a generated benchmark: our clusters vs identifier communities.

Usage::

    python benchmarks/resolve_synthetic.py --preset small              # demo, then resolve
    python benchmarks/resolve_synthetic.py --workspace /tmp/dm/workspace   # an existing one

With ``--preset`` the demo (generate, ingest, extract, label, split, resolve) runs in a
temporary folder; with ``--workspace`` the workspace is *copied* first, so the original is
never modified, and resolve runs on the copy. Both print and write (``--out``, JSON) the
B-cubed / pairwise metrics against the true vendors for our clusters (each clustering
method in ``--methods``, re-clustering the stored pairs at the chosen threshold) and for
the identifier communities (ads without a phone or email are singletons), and the wall
time of resolve.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from vendorlink.data.workspace import Workspace
from vendorlink.resolve.stage import recluster, run_resolve


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--preset", help="generator preset (tiny, small, medium, matched)")
    group.add_argument("--workspace", type=Path, help="an existing demo workspace (copied)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default="connected_components,correlation")
    parser.add_argument("--out", type=Path, default=Path("bench-out/resolve_synthetic.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vl-resolve-bench-") as tmp:
        if args.preset:
            from vendorlink.demo import run_demo

            t0 = time.perf_counter()
            run_demo(
                Path(tmp) / "demo", preset=args.preset, seed=args.seed, progress=False,
                console=Console(file=io.StringIO()),
            )  # fmt: skip
            print(f"demo ({args.preset}) in {time.perf_counter() - t0:.1f} s")
            ws = Workspace.open(Path(tmp) / "demo" / "workspace")
        else:
            shutil.copytree(args.workspace, Path(tmp) / "workspace")
            ws = Workspace.open(Path(tmp) / "workspace")
        t0 = time.perf_counter()
        summary = run_resolve(ws, progress=True)
        wall = time.perf_counter() - t0
        result: dict[str, Any] = {
            "source": args.preset or str(args.workspace),
            "n_ads": summary["n_ads"],
            "n_pairs": summary["n_pairs"],
            "threshold": summary["threshold"],
            "resolve_seconds": round(wall, 1),
            "timings": summary["timings"],
            "metrics": summary.get("metrics"),
            "by_method": {},
        }
        for method in args.methods.split(","):
            again = recluster(ws, summary["threshold"], method, write=False)
            result["by_method"][method] = (again.get("metrics") or {}).get("resolve")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
