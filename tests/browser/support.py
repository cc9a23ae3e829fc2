"""Fixtures of the app tests: the tiny trained workspace (copied), its services and clients.

The workspace is the tiny generated demo with a tiny trained vendor model, built once per
session by the training tests' fixtures (``tests.test_train_workspace``) and copied here,
so that the app's writes (audit log, tokens, uploaded ads) never touch the shared one.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests import test_train_workspace as _shared
from vendorlink.app.config import AppSettings
from vendorlink.app.server import create_app
from vendorlink.app.services import Services
from vendorlink.data.workspace import Workspace

tiny_setup = _shared.tiny_setup
tiny_trained = _shared.tiny_trained

MAX_REQUEST_BYTES = 2_000_000
MAX_IMAGE_BYTES = 200_000


@dataclass
class AppHandle:
    """A served workspace: services, a client, the token and a few known values."""

    services: Services
    client: TestClient
    token: str
    phone: str  # E.164 phone of ``phone_ad``
    phone_ad: str
    image_path: Path  # an image file of the workspace

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def open_app(workspace: Path, **limits: int) -> tuple[Services, TestClient]:
    settings = AppSettings(
        workspace=workspace,
        max_request_bytes=limits.get("max_request_bytes", MAX_REQUEST_BYTES),
        max_image_bytes=limits.get("max_image_bytes", MAX_IMAGE_BYTES),
    )
    services = Services(settings)
    return services, TestClient(create_app(settings, services))


@pytest.fixture(scope="session")
def app(
    tiny_trained: tuple[Workspace, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppHandle]:
    workspace, _model = tiny_trained
    folder = tmp_path_factory.mktemp("app") / "workspace"
    shutil.copytree(workspace.path, folder)
    services, client = open_app(folder)
    assert services.first_token, "a new workspace gets a token at first start"
    cur = services.cursor()
    phone, ad_id = cur.execute(
        "SELECT phones[1], ad_id FROM fields WHERE len(phones) > 0 ORDER BY ad_id LIMIT 1"
    ).fetchone()
    root, rel = cur.execute("SELECT root, path FROM images ORDER BY ad_id LIMIT 1").fetchone()
    handle = AppHandle(services, client, services.first_token, phone, ad_id, Path(root) / rel)
    yield handle
    client.close()
    services.close()


@pytest.fixture(scope="session")
def empty_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppHandle]:
    """A workspace with nothing in it: no model, no clusters, no flags."""
    folder = tmp_path_factory.mktemp("empty-app") / "workspace"
    Workspace.init(folder)
    services, client = open_app(folder)
    assert services.first_token
    yield AppHandle(services, client, services.first_token, "", "", Path())
    client.close()
    services.close()
