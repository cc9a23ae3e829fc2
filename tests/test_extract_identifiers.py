"""E-mail addresses, links and social handles."""

from __future__ import annotations

import pytest

from vendorlink.extract.emails import extract_emails, find_email_spans
from vendorlink.extract.fields import extract_fields
from vendorlink.extract.social import extract_handles
from vendorlink.extract.urls import extract_urls, normalise_url

ADDRESS = "rose.sweet@example.com"


@pytest.mark.parametrize(
    "text",
    [
        "rose.sweet@example.com",
        "Rose.Sweet@Example.COM",
        "rose.sweet at example dot com",
        "ROSE.SWEET AT EXAMPLE DOT COM",
        "rose.sweet(at)example(dot)com",
        "rose.sweet [at] example [dot] com",
        "rose.sweet {at} example {dot} com",
        "rose.sweet @ example . com",
        "rose.sweet@example dot com",
        "rose.sweet at example.com",
    ],
)
def test_email_forms(text: str) -> None:
    assert extract_emails(text) == [ADDRESS]
    assert extract_emails(f"email me: {text}. Kisses!") == [ADDRESS]


@pytest.mark.parametrize(
    "text",
    [
        "text me at 312 555 0123",
        "meet me at the hotel",
        "I'm at home dot com",  # "home" is an ordinary word before " at "... and no address
        "text me at example dot com",
        "IG: @sweet.rose",
        "kik @ava.honey",
        "at dot at dot at dot",
        "rose at example dot zzzz",  # unknown top-level domain with the bare word "at"
        "@@@@ @example.com",
    ],
)
def test_email_negatives(text: str) -> None:
    assert extract_emails(text) == []


def test_email_after_a_decoy_at() -> None:
    text = "email me @ vip.mia4@example.com. telegram: mia971"
    assert extract_emails(text) == ["vip.mia4@example.com"]
    span = find_email_spans(text)[0]
    assert text[span.start : span.end] == "vip.mia4@example.com"


def test_several_addresses() -> None:
    text = "a.b@example.org, c_d at example dot net and c_d@example.net"
    assert extract_emails(text) == ["a.b@example.org", "c_d@example.net"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://www.Example.com/Ads/123/", "example.com/ads/123"),
        ("http://example.org/rose", "example.org/rose"),
        ("www.example.net", "example.net"),
        ("visit example.com/rose.", "example.com/rose"),
        ("(example.com/~mia/)", "example.com/~mia"),
        ("see me at example dot net/rose", "example.net/rose"),
        ("https://sub.example.com/a?b=1", "sub.example.com/a?b=1"),
    ],
)
def test_url_forms(text: str, expected: str) -> None:
    assert extract_urls(text) == [expected]


@pytest.mark.parametrize(
    "text",
    ["5.6 ft", "Hi.Im Mia", "1.70m", "rates 150.00", "...", "the end.Next", "snap: mia.sexy"],
)
def test_url_negatives(text: str) -> None:
    assert extract_urls(text) == []


def test_email_domain_is_no_link() -> None:
    fields = extract_fields("mail: mia@example.com or visit www.example.org/mia")
    assert fields["emails"] == ["mia@example.com"]
    assert fields["urls"] == ["example.org/mia"]


def test_normalise_url() -> None:
    assert normalise_url("HTTPS://WWW.EXAMPLE.COM/") == "example.com"
    assert normalise_url("no link here") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IG: @Sweet.Rose.", "instagram:sweet.rose"),
        ("ig: sweet_rose", "instagram:sweet_rose"),
        ("Insta:sweetrose", "instagram:sweetrose"),
        ("snap: rose_x", "snapchat:rose_x"),
        ("SC - rose_x", "snapchat:rose_x"),
        ("Snapchat @rosie", "snapchat:rosie"),
        ("Snapchat \u27a1 amelia.sexy", "snapchat:amelia.sexy"),
        ("kik - rosie22", "kik:rosie22"),
        ("KIK: Rosie22", "kik:rosie22"),
        ("twitter: @rose", "twitter:rose"),
        ("x: @rose", "twitter:rose"),
        ("telegram => roseTG", "telegram:rosetg"),
        ("TG: @rose", "telegram:rose"),
        ("WhatsApp: rose.wa", "whatsapp:rose.wa"),
        ("OF: rosexxx", "onlyfans:rosexxx"),
        ("onlyfans @rosexxx", "onlyfans:rosexxx"),
        ("instagram.com/sweet.rose", "instagram:sweet.rose"),
    ],
)
def test_handle_forms(text: str, expected: str) -> None:
    assert extract_handles(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "snap me",
        "of course",
        "big x - 150",  # a number is no handle
        "wa: 3125550123",
        "kik: me",
        "a lot of fun",
    ],
)
def test_handle_negatives(text: str) -> None:
    assert extract_handles(text) == []
