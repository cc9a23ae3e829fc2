"""Settings of the investigator app: where the workspace is, which model, and the limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024


@dataclass
class AppSettings:
    """Every option of ``vendorlink serve`` maps to one field.

    Limits: a request body above ``max_request_bytes`` is refused with 413 before it is
    read; an uploaded image above ``max_image_bytes`` or ``max_image_pixels`` with 413; at
    most ``max_images_per_ad`` images per ad and ``max_instances`` instances per predict
    call (422 beyond).
    """

    workspace: Path
    model: str | None = None  # a folder, or a name under artefacts/models; default: see services
    max_request_bytes: int = 25 * MB
    max_image_bytes: int = 8 * MB
    max_image_pixels: int = 40_000_000
    max_images_per_ad: int = 10
    max_instances: int = 16
    max_text_chars: int = 20_000
    page_size: int = 25
    max_page_size: int = 200
    default_k: int = 10
    max_k: int = 100
    max_export_rows: int = 100_000
    graph_node_limit: int = 300
    cookie_secure: bool = False  # set when served behind HTTPS
    search_threads: int = 1  # FAISS threads per query: requests run in parallel instead
    search_batch: int = 64  # concurrent linked-ads queries answered by one index call
    neighbour_table_max_ads: int = 100_000  # up to this many indexed ads, every ad's linked
    # ads are computed once in the background (n^2 work) and then looked up; 0 turns it off
    summary_preload_ads: int = 300_000  # up to this many ads, every ad summary is kept in memory
    audit_flush_seconds: float = 0.25  # audit rows are written in batches this often
