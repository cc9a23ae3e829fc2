"""The app's gate: tokens (401), hashed storage, login cookie, path traversal, size limits."""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.browser import support
from tests.browser.support import MAX_IMAGE_BYTES, MAX_REQUEST_BYTES, AppHandle
from vendorlink.app.security import COOKIE_NAME, hash_token

app = support.app
empty_app = support.empty_app
tiny_setup = support.tiny_setup
tiny_trained = support.tiny_trained

PROTECTED_GETS = [
    "/api/overview",
    "/api/openapi.json",
    "/api/search?q=x",
    "/api/ads/AD",
    "/api/ads/AD?reveal=true",
    "/api/ads/AD/images/0",
    "/api/ads/AD/linked",
    "/api/ads/AD/graph",
    "/api/ads/AD/flags",
    "/api/clusters",
    "/api/clusters/0",
    "/api/clusters/0/graph",
    "/api/audit",
    "/api/export/search.csv?q=x",
    "/api/export/clusters.csv",
    "/api/export/clusters/0/members.csv",
    "/api/export/clusters/0/graph.gexf",
    "/api/export/ads/AD/graph.graphml",
]


def _noisy_png(size: int) -> bytes:
    """A PNG of about ``size`` bytes or more (random pixels do not compress)."""
    import numpy as np

    side = int((size / 3) ** 0.5) + 8
    pixels = np.random.default_rng(0).integers(0, 255, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("path", PROTECTED_GETS)
@pytest.mark.parametrize("token", [None, "wrong-token", ""])
def test_every_endpoint_needs_a_valid_token(app: AppHandle, path: str, token: str | None) -> None:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = app.client.get(path.replace("AD", app.phone_ad), headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "token" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/predict", "/api/ads", "/upload"])
def test_posts_need_a_token_too(app: AppHandle, path: str) -> None:
    response = app.client.post(path, json={"instances": [{"text": "x"}]})
    assert response.status_code == 401
    wrong = app.client.post(path, json={"instances": []}, headers={"X-Vendorlink-Token": "nope"})
    assert wrong.status_code == 401


def test_token_header_and_cookie_are_accepted(app: AppHandle) -> None:
    assert app.client.get("/api/overview", headers=app.headers).status_code == 200
    header = {"X-Vendorlink-Token": app.token}
    assert app.client.get("/api/overview", headers=header).status_code == 200
    cookie = {"Cookie": f"{COOKIE_NAME}={app.token}"}
    assert app.client.get("/api/overview", headers=cookie).status_code == 200
    bad_cookie = {"Cookie": f"{COOKIE_NAME}=nope"}
    assert app.client.get("/api/overview", headers=bad_cookie).status_code == 401


def test_token_is_stored_hashed(app: AppHandle) -> None:
    stored = (
        app.services.cursor()
        .execute("SELECT value FROM meta WHERE key = 'app_token:analyst'")
        .fetchone()[0]
    )
    assert stored == hashlib.sha256(app.token.encode()).hexdigest() == hash_token(app.token)
    rows = app.services.cursor().execute("SELECT value FROM meta").fetchall()
    assert all(app.token not in str(r[0]) for r in rows)


def test_pages_redirect_to_login_and_login_sets_a_strict_cookie(app: AppHandle) -> None:
    page = app.client.get("/clusters?page=2", headers={"Accept": "text/html"},
                          follow_redirects=False)  # fmt: skip
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    assert app.client.get("/login").status_code == 200  # the login page is public
    assert app.client.get("/static/app.css").status_code == 200
    wrong = app.client.post("/login", data={"token": "nope", "next": "/"}, follow_redirects=False)
    assert wrong.status_code == 401 and COOKIE_NAME not in wrong.headers.get("set-cookie", "")
    good = app.client.post(
        "/login", data={"token": app.token, "next": "//evil.example.com/"}, follow_redirects=False
    )
    assert good.status_code == 303 and good.headers["location"] == "/"  # no open redirect
    cookie = good.headers["set-cookie"]
    assert f"{COOKIE_NAME}={app.token}" in cookie and "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    app.client.cookies.clear()


@pytest.mark.parametrize(
    "path",
    [
        "/api/ads/..%2F..%2F..%2Fetc%2Fpasswd/images/0",
        "/api/ads/AD/images/..%2F..%2Fvendorlink.duckdb",
        "/api/ads/AD/images/-1",
        "/static/..%2F..%2Fservices.py",
        "/static/../services.py",
        "/static/%2e%2e/%2e%2e/data/workspace.py",
    ],
)
def test_path_traversal_is_refused(app: AppHandle, path: str) -> None:
    response = app.client.get(path.replace("AD", app.phone_ad), headers=app.headers)
    assert 400 <= response.status_code < 500
    assert b"import" not in response.content and b"DUCK" not in response.content


@pytest.fixture
def tampered_image(app: AppHandle) -> Iterator[int]:
    """An image row whose path leads out of its root (as a tampered table would)."""
    con = app.services.cursor()
    con.execute(
        "INSERT INTO images (ad_id, position, image_id, root, path, run_id) "
        "SELECT ad_id, 77, image_id, root, '../../../../../../etc/hostname', run_id "
        "FROM images WHERE ad_id = ? AND position = 0",
        [app.phone_ad],
    )
    yield 77
    con.execute("DELETE FROM images WHERE ad_id = ? AND position = 77", [app.phone_ad])


def test_images_outside_the_root_are_never_served(app: AppHandle, tampered_image: int) -> None:
    response = app.client.get(
        f"/api/ads/{app.phone_ad}/images/{tampered_image}", headers=app.headers
    )
    assert response.status_code == 403 and "image root" in response.json()["detail"]


def test_oversize_request_body_is_413(app: AppHandle) -> None:
    body = b'{"instances": [{"text": "' + b"x" * MAX_REQUEST_BYTES + b'"}]}'
    response = app.client.post(
        "/api/predict", content=body, headers={**app.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 413 and "larger than the limit" in response.json()["detail"]


def test_oversize_streamed_body_without_length_is_413(app: AppHandle) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"x" * 100_000

    response = app.client.post(
        "/api/predict", content=chunks(),
        headers={**app.headers, "Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 413


def test_oversize_image_is_413(app: AppHandle) -> None:
    big = _noisy_png(MAX_IMAGE_BYTES + 10_000)
    assert MAX_IMAGE_BYTES < len(big) < MAX_REQUEST_BYTES // 2
    body = {"instances": [{"image_base64": base64.b64encode(big).decode()}]}
    response = app.client.post("/api/predict", json=body, headers=app.headers)
    assert response.status_code == 413 and "limit" in response.json()["detail"]
    files = [("images", ("big.png", big, "image/png"))]
    upload = app.client.post("/api/ads", data={"text": "x"}, files=files, headers=app.headers)
    assert upload.status_code == 413
    form = app.client.post("/upload", data={"text": "x"}, files=files, headers=app.headers)
    assert form.status_code == 413 and "limit" in form.text


def test_image_with_too_many_pixels_is_413(app: AppHandle) -> None:
    buffer = io.BytesIO()
    Image.new("L", (8000, 6000)).save(buffer, format="PNG")  # 48 MP, a few KB compressed
    body = {"instances": [{"image_base64": base64.b64encode(buffer.getvalue()).decode()}]}
    response = app.client.post("/api/predict", json=body, headers=app.headers)
    assert response.status_code == 413 and "pixels" in response.json()["detail"]


def test_app_token_command_adds_a_token(tmp_path: Path) -> None:
    from vendorlink.cli import app as cli
    from vendorlink.data.workspace import Workspace

    folder = tmp_path / "ws"
    Workspace.init(folder)
    result = CliRunner().invoke(cli, ["app-token", "-w", str(folder), "--name", "bob"])
    assert result.exit_code == 0, result.output
    token = result.output.split()[-1]
    services, client = support.open_app(folder)
    try:
        assert services.first_token is None  # bob's token exists: no new one at first start
        ok = client.get("/api/overview", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        bad = CliRunner().invoke(cli, ["app-token", "-w", str(folder), "--name", "b o b"])
        assert bad.exit_code != 0
    finally:
        services.close()
    assert CliRunner().invoke(cli, ["serve", "--help"]).exit_code == 0
