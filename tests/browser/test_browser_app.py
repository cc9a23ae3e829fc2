"""End-to-end: the web app in headless Chromium (Debian's ``chromium``, driven by Playwright).

One analyst session on the tiny trained workspace: log in, search by phone number, open an
ad, see its linked ads and its graph (and expand a node), reveal the text, open the ad's
vendor cluster, and upload a new ad. Screenshots go to ``test-artefacts/browser/`` (or
``$VENDORLINK_TEST_ARTEFACTS``). ``make test`` installs chromium first (``make
browser-deps``); without it the tests fail with the command that installs it, never skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import support
from tests.browser.support import AppHandle

app = support.app
tiny_setup = support.tiny_setup
tiny_trained = support.tiny_trained

CHROMIUM = os.environ.get("VENDORLINK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
REPO = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("VENDORLINK_TEST_ARTEFACTS", REPO / "test-artefacts")) / "browser"


def _require_chromium() -> None:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps` (apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_url(app: AppHandle) -> Iterator[str]:
    """The app served by uvicorn on a loopback port, in a thread."""
    import uvicorn

    from vendorlink.app.server import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(app.services.settings, app.services), host="127.0.0.1", port=port,
            log_level="warning", lifespan="off",
        )
    )  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 20 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def page(live_url: str) -> Iterator[Any]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="vendorlink-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1360, "height": 900},
            )  # fmt: skip
            context.set_default_timeout(30_000)
            blocked: list[str] = []
            context.route(  # the app must work offline: anything not on loopback is an error
                "**/*",
                lambda route: (
                    route.continue_()
                    if route.request.url.startswith(live_url)
                    else (blocked.append(route.request.url), route.abort())
                ),
            )
            tab = context.new_page()
            errors: list[str] = []
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            yield tab
            assert not errors, f"JavaScript errors: {errors}"
            assert not blocked, f"requests left the machine: {blocked}"
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _shot(tab: Any, name: str) -> None:
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert (SHOTS / f"{name}.png").stat().st_size > 5_000


def _wait_graph(tab: Any) -> int:
    tab.wait_for_selector("#graph[data-ready='1']")
    return int(tab.get_attribute("#graph", "data-nodes") or 0)


def test_analyst_session(app: AppHandle, live_url: str, page: Any) -> None:
    tab = page
    # log in
    tab.goto(f"{live_url}/clusters")
    assert "/login" in tab.url
    tab.fill("#token", app.token)
    tab.click("#login")
    tab.wait_for_url(f"{live_url}/clusters")

    # search by phone number, written as a person would type it
    digits = app.phone[-10:]
    tab.goto(f"{live_url}/")
    tab.fill("#q", f"{digits[:3]}.{digits[3:6]}.{digits[6:]}")
    tab.click("#search")
    tab.wait_for_selector("#result-count")
    assert "phone search" in tab.inner_text("#result-count")
    rows = tab.locator("tr.result")
    assert rows.count() >= 1
    assert app.phone_ad in tab.inner_text("table.results")
    snippets = " ".join(tab.locator("td.snippet").all_inner_texts())
    assert not any(c.isdigit() for c in snippets)  # masked: no phone digits on the page
    _shot(tab, "1-search-by-phone")

    # open the ad: masked text, linked ads with scores, graph
    tab.click(f"a.adlink:text-is('{app.phone_ad}')")
    tab.wait_for_selector("#ad-id")
    assert tab.inner_text("#ad-id") == app.phone_ad
    assert "<PHONE>" in tab.inner_text("#ad-text")
    linked = tab.locator("#linked tr.result")
    assert linked.count() == 10
    assert tab.locator("#linked td.score").first.inner_text().strip().startswith("0.")
    nodes = _wait_graph(tab)
    assert nodes == 11
    _shot(tab, "2-ad-linked-and-graph")

    # click a neighbour in the graph: its own linked ads are added (expand on click)
    target = tab.evaluate(
        """() => { const cy = window.vendorlinkGraph;
                   const n = cy.nodes().filter(x => !x.data('query'))[0];
                   const p = n.renderedPosition(); return {id: n.id(), x: p.x, y: p.y}; }"""
    )
    box = tab.locator("#graph").bounding_box()
    tab.mouse.click(box["x"] + target["x"], box["y"] + target["y"])
    tab.wait_for_function(
        "id => window.vendorlinkGraph.getElementById(id).hasClass('expanded')", arg=target["id"]
    )
    assert _wait_graph(tab) >= nodes
    assert tab.evaluate("() => window.vendorlinkGraph.edges().length") > 10

    # reveal the raw text (an audited action)
    tab.click("#reveal")
    tab.wait_for_selector("#ad-text.revealed")
    assert "<PHONE>" not in tab.inner_text("#ad-text")
    audit = app.services.audit.entries(20)[1]
    assert ("reveal", app.phone_ad) in {(e["action"], e["target"]) for e in audit}

    # the ad's vendor cluster: profile, timeline, cities, members, graph
    tab.click("#cluster-link")
    tab.wait_for_selector("#cluster-title")
    assert tab.locator("#timeline svg rect").count() >= 1
    assert tab.locator("#cities svg rect").count() >= 1
    assert tab.locator("#profile tr").count() >= 1
    assert tab.locator("tr.result").count() >= 1
    assert _wait_graph(tab) >= 1
    _shot(tab, "3-cluster")

    # upload a new ad with an image; it is ingested, extracted and linked
    tab.goto(f"{live_url}/upload")
    tab.fill("#text", "Just arrived [SEP] Marisol, sweet and discreet, call 713 555 0142")
    tab.fill("#city", "Houston")
    tab.fill("#region", "South")
    tab.set_input_files("#images", str(app.image_path))
    _shot(tab, "4-upload-form")
    tab.click("#submit-ad")
    tab.wait_for_selector("#uploaded")
    assert tab.inner_text("#ad-id").startswith("app-")
    assert tab.locator("#linked tr.result").count() == 10
    assert tab.locator(".gallery img").count() == 1
    _wait_graph(tab)
    _shot(tab, "5-uploaded-ad")
