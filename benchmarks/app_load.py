"""Load test of the investigator app: linked-ads latency and 50 concurrent clients, on loopback.

Copies a workspace (default: the MATCHED-scale generated one with a trained model), starts
the app in its own process (uvicorn, one worker, as ``vendorlink serve`` does) and asks
``GET /api/ads/{id}/linked?k=10`` for random indexed ads, once the app's neighbour table is
built (``--no-table``: every query searches the FAISS index, batched across requests):

1. one client, requests one after another (latency without queueing);
2. ``--clients`` concurrent clients (aiohttp, one connection each), each sending its next
   request as soon as the last one is answered (closed loop, no think time: the hardest
   load 50 clients can make).

The load client runs on the same 2 cores as the server, so its own CPU time is part of
every latency measured. Reports p50 / p95 / p99 / max latency, throughput and errors (any
non-200, a wrong number of linked ads, or a transport error) of each phase, and writes
``bench-out/app_load.json``. Run under the bench lock:

    flock /tmp/vendorlink-bench.lock .venv/bin/python benchmarks/app_load.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np

DEFAULT_SOURCE = Path("/tmp/vendorlink-bench/demo-matched/workspace")
SERVER_CODE = """
import sys, uvicorn
from vendorlink.app.config import AppSettings
from vendorlink.app.server import create_app
settings = AppSettings(workspace=sys.argv[1], model=sys.argv[2] or None,
                       neighbour_table_max_ads=int(sys.argv[4]))
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
        "mean_ms": round(float(ms.mean()), 2),
    }


def prepare(source: Path, work: Path, reuse: bool) -> tuple[Path, str]:
    """Copy the workspace (the original is never touched) and give it a bench token."""
    from vendorlink.app.security import create_token
    from vendorlink.data.workspace import Workspace

    target = work / "workspace"
    if not (reuse and (target / "workspace.json").exists()):
        if target.exists():
            shutil.rmtree(target)
        work.mkdir(parents=True, exist_ok=True)
        print(f"copying {source} -> {target}", flush=True)
        shutil.copytree(source, target)
    ws = Workspace.open(target)
    with ws.connect() as con:
        token = create_token(con, "bench")
    return target, token


def start_server(
    workspace: Path, model: str, port: int, table_max_ads: int
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", SERVER_CODE, str(workspace), model, str(port), str(table_max_ads)],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def wait_ready(
    base: str, headers: dict[str, str], timeout: float, table: bool = False
) -> dict[str, Any]:
    """The overview once the app answers (and, with ``table``, once its neighbour table is
    built)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base}/api/overview", headers=headers, timeout=5)
            if response.status_code == 200 and (not table or response.json()["link_table"]):
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the app did not answer within {timeout:.0f} s")


def sequential(base: str, headers: dict[str, str], ads: list[str], n: int, k: int) -> dict:
    times, errors = [], 0
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for i in range(n):
            start = time.perf_counter()
            response = client.get(f"/api/ads/{ads[i % len(ads)]}/linked", params={"k": k})
            times.append(time.perf_counter() - start)
            errors += response.status_code != 200 or len(response.json()["linked"]) != k
    return {"requests": n, "errors": errors, **_percentiles(times)}


async def _concurrent(
    base: str,
    headers: dict[str, str],
    ads: list[str],
    clients: int,
    per_client: int,
    k: int,
    server_pid: int,
) -> dict:
    times: list[float] = []
    errors: list[str] = []
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(
        base_url=base, headers=headers, connector=connector, timeout=timeout
    ) as session:

        async def one_client(c: int) -> None:
            rng = random.Random(c)
            for _ in range(per_client):
                ad = rng.choice(ads)
                start = time.perf_counter()
                try:
                    async with session.get(f"/api/ads/{ad}/linked", params={"k": k}) as response:
                        body = await response.read()
                    ok = response.status == 200 and len(json.loads(body)["linked"]) == k
                    if not ok:
                        errors.append(f"{response.status} {body[:100]!r}")
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors.append(type(exc).__name__)
                times.append(time.perf_counter() - start)

        wall, client_cpu = time.perf_counter(), time.process_time()
        server_cpu = _cpu_seconds(server_pid)
        await asyncio.gather(*(one_client(c) for c in range(clients)))
        wall = time.perf_counter() - wall
        server_cpu = _cpu_seconds(server_pid) - server_cpu
        client_cpu = time.process_time() - client_cpu
    n = max(1, len(times))
    return {
        "clients": clients,
        "requests": len(times),
        "errors": len(errors),
        "error_examples": errors[:5],
        "seconds": round(wall, 2),
        "requests_per_second": round(len(times) / wall, 1),
        # CPU cost per request, which machine load barely changes (2 cores = 2000 CPU-ms/s)
        "server_cpu_ms_per_request": round(server_cpu * 1000 / n, 3),
        "client_cpu_ms_per_request": round(client_cpu * 1000 / n, 3),
        **_percentiles(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--work", type=Path, default=Path("/tmp/vendorlink-app-bench"))
    parser.add_argument("--reuse", action="store_true", help="reuse an earlier copy")
    parser.add_argument("--model", default="bench-truth-multimodal-mean-ce_supcon")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=40)
    parser.add_argument("--sequential", type=int, default=500)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3, help="runs of each phase (median)")
    parser.add_argument(
        "--no-table",
        action="store_true",
        help="serve without the precomputed neighbour table (every query searches the index)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench-out/app_load.json"))
    args = parser.parse_args()

    load_start = round(os.getloadavg()[0], 2)  # other work on the machine skews latencies
    workspace, token = prepare(args.source, args.work, args.reuse)
    model = args.model if (workspace / "artefacts" / "models" / args.model).is_dir() else ""
    port = _free_port()
    base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
    server = start_server(workspace, model, port, 0 if args.no_table else 100_000)
    try:
        overview = wait_ready(base, headers, timeout=120)
        print(f"serving {overview['ads']:,} ads with model {overview['model']}", flush=True)
        start = time.perf_counter()
        first_ad = httpx.get(f"{base}/api/search", params={"q": "[SEP]", "kind": "text",
                             "page_size": 1}, headers=headers, timeout=30).json()  # fmt: skip
        ad0 = first_ad["results"][0]["ad_id"]
        warm = httpx.get(f"{base}/api/ads/{ad0}/linked", headers=headers, timeout=900)
        warm.raise_for_status()
        if not args.no_table:
            wait_ready(base, headers, timeout=600, table=True)
        build_s = time.perf_counter() - start
        ids_file = next((workspace / "artefacts" / "indexes").glob("*/ids.json"))
        ids = json.loads(ids_file.read_text(encoding="utf-8"))
        ads = random.Random(0).sample(ids, min(2000, len(ids)))
        what = "index" if args.no_table else "index and neighbour table"
        print(f"{what} ready in {build_s:.1f} s ({len(ids):,} ads indexed)", flush=True)
        seq_runs, conc_runs = [], []
        for run in range(args.runs):
            seq_runs.append(sequential(base, headers, ads, args.sequential, args.k))
            print(f"run {run + 1} sequential: {seq_runs[-1]}", flush=True)
            conc_runs.append(
                asyncio.run(
                    _concurrent(
                        base, headers, ads, args.clients, args.per_client, args.k, server.pid
                    )
                )
            )
            print(f"run {run + 1} {args.clients} clients: {conc_runs[-1]}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)

    def median(runs: list[dict], key: str) -> float:
        return float(np.median([r[key] for r in runs]))

    result = {
        "workspace": str(args.source),
        "ads": overview["ads"],
        "indexed_ads": len(ids),
        "model": overview["model"],
        "k": args.k,
        "index_build_or_load_s": round(build_s, 1),
        "answered_from": "index search" if args.no_table else "neighbour table",
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_1m": {"start": load_start, "end": round(os.getloadavg()[0], 2)},
        "sequential": {k: median(seq_runs, k) for k in ("p50_ms", "p95_ms", "p99_ms")}
        | {"errors": sum(r["errors"] for r in seq_runs), "requests": sum(r["requests"]
                                                                           for r in seq_runs)},
        "concurrent": {k: median(conc_runs, k) for k in (
            "p50_ms", "p95_ms", "p99_ms", "requests_per_second", "server_cpu_ms_per_request",
            "client_cpu_ms_per_request")}
        | {"clients": args.clients, "errors": sum(r["errors"] for r in conc_runs),
           "requests": sum(r["requests"] for r in conc_runs)},
        "runs": {"sequential": seq_runs, "concurrent": conc_runs},
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    ok = (
        result["sequential"]["p95_ms"] < 50
        and result["concurrent"]["p95_ms"] < 50
        and result["concurrent"]["errors"] == 0
    )
    print(
        f"target (p95 < 50 ms one at a time and with {args.clients} concurrent clients, "
        f"no errors): {'met' if ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
