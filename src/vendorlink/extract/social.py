"""Social-media handles as ``platform:handle`` ("IG: @Sweet.Rose" -> ``instagram:sweet.rose``).

A handle counts when a platform name (:data:`vendorlink.lexicon.SOCIAL_PLATFORMS`) is
followed by ``:``, ``=``, ``-``, ``>`` or ``@`` and then the handle ("snap: rose_x",
"IG @sweet.rose", "kik - rosie22"), or when it is written as a profile link
("instagram.com/sweet.rose"). A platform name followed by a plain word ("snap me", "of
course") is not a handle. Handles are lower case, without ``@`` and trailing dots.
"""

from __future__ import annotations

import re

from vendorlink.extract.spans import Span, lower_same_length, sorted_unique
from vendorlink.lexicon import SOCIAL_PLATFORMS, variant_to_canonical

PLATFORM_BY_VARIANT: dict[str, str] = variant_to_canonical(SOCIAL_PLATFORMS)
_VARIANTS = "|".join(re.escape(v) for v in sorted(PLATFORM_BY_VARIANT, key=lambda v: (-len(v), v)))
_HANDLE = r"[a-z0-9_](?:[a-z0-9_.]{0,29}+)"
# Starts with the platform names (a literal alternation, quick to scan for); the character
# before the name is checked after the match.
HANDLE_RE = re.compile(
    rf"(?P<platform>{_VARIANTS})(?![a-z0-9])"
    rf"[ \t]{{0,3}}+(?:(?:[:=>\-–—➡→]\ufe0f?|->|=>)[ \t]{{0,3}}+@?+|@)(?P<handle>{_HANDLE})"
)
_PROFILE_HOSTS = {
    "instagram.com": "instagram",
    "snapchat.com/add": "snapchat",
    "twitter.com": "twitter",
    "x.com": "twitter",
    "t.me": "telegram",
    "onlyfans.com": "onlyfans",
    "kik.me": "kik",
}
# Profile links; the pattern starts with the host names (a literal alternation) and the
# character before the host is checked after ("www." or "//" may stand there).
PROFILE_RE = re.compile(
    "(?P<host>" + "|".join(re.escape(h) for h in _PROFILE_HOSTS) + rf")/@?(?P<handle>{_HANDLE})"
)
# Words that follow "platform:" in ads but are not handles.
_NOT_HANDLE_TEXT = "me only now here available same below above upon request ask dm pm"
_NOT_HANDLES = frozenset(_NOT_HANDLE_TEXT.split())


_FIRST_WORDS = frozenset(v.split()[0] for v in PLATFORM_BY_VARIANT)


def find_handle_spans(
    text: str, lower: str | None = None, words: frozenset[str] | None = None
) -> list[Span]:
    """Handles in ``text`` as ``(start, end, "platform:handle")`` spans (the handle only).

    ``words``: the words of the text (:func:`vendorlink.extract.descriptors.words_of`);
    the handle pattern is then tried only where a platform name stands.
    """
    low = lower if lower is not None else lower_same_length(text)
    spans: list[Span] = []
    if words is None:
        starts = [m.start() for m in HANDLE_RE.finditer(low)]
    else:
        starts = sorted(p for v in words & _FIRST_WORDS for p in _word_positions(low, v, "@./_-"))
    done = 0
    for start in starts:
        if start < done or (start > 0 and (low[start - 1].isalnum() or low[start - 1] in "@./_-")):
            continue
        match = HANDLE_RE.match(low, start)
        if match is None:
            continue
        span = _handle_span(match, PLATFORM_BY_VARIANT[match.group("platform")])
        if span is not None:
            spans.append(span)
            done = match.end()
    if "/" in low:
        for match in PROFILE_RE.finditer(low):
            if not _profile_start(low, match.start()):
                continue
            span = _handle_span(match, _PROFILE_HOSTS[match.group("host")])
            if span is not None:
                spans.append(span)
    spans.sort()
    return spans


def _profile_start(low: str, start: int) -> bool:
    """Whether a profile host starts a link at ``start`` (not "myinstagram.com")."""
    if start == 0 or low[start - 1] == "/" or low.endswith("www.", 0, start):
        return True
    return not (low[start - 1].isalnum() or low[start - 1] in "._-@")


def _word_positions(low: str, word: str, also_not_before: str) -> list[int]:
    """Offsets of ``word`` in ``low`` not inside a longer word (C-speed search)."""
    out: list[int] = []
    n = len(word)
    start = low.find(word)
    while start != -1:
        end = start + n
        if (start == 0 or not (low[start - 1].isalnum() or low[start - 1] in also_not_before)) and (
            end == len(low) or not low[end].isalnum()
        ):
            out.append(start)
        start = low.find(word, end)
    return out


def extract_handles(text: str) -> list[str]:
    """Sorted distinct ``platform:handle`` strings in ``text``."""
    return sorted_unique(span.value for span in find_handle_spans(text))


def _handle_span(match: re.Match[str], platform: str) -> Span | None:
    handle = match.group("handle").rstrip("._")
    if not handle or handle in _NOT_HANDLES or not any(c.isalpha() for c in handle):
        return None
    start = match.start("handle")
    if start > 0 and match.string[start - 1] == "@":
        start -= 1
    end = match.start("handle") + len(handle)
    return Span(start, end, f"{platform}:{handle}")


__all__ = ["HANDLE_RE", "PLATFORM_BY_VARIANT", "extract_handles", "find_handle_spans"]
