"""Assemble the FastAPI application: the gate, the JSON API, the pages and the static files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from vendorlink import __version__
from vendorlink.app import api, web
from vendorlink.app.config import AppSettings
from vendorlink.app.guard import Guard
from vendorlink.app.services import AppError, Services
from vendorlink.errors import VendorlinkError

STATIC = Path(__file__).parent / "static"


def create_app(settings: AppSettings, services: Services | None = None) -> FastAPI:
    """The app over ``settings.workspace`` (opens it; the first start creates a token)."""
    services = services or Services(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        services.close()

    app = FastAPI(
        title="vendorlink investigator API",
        version=__version__,
        description="Search ads, see linked ads, clusters and flags, ingest and export. "
        "Every endpoint needs a token: `Authorization: Bearer TOKEN`.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # the Swagger page loads scripts from the internet: not offline
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.settings = settings
    app.include_router(api.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        return _error(request, exc.status, exc.message)

    @app.exception_handler(VendorlinkError)
    async def library_error(request: Request, exc: VendorlinkError) -> Response:
        return _error(request, 422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api"):
            return JSONResponse({"detail": exc.errors()}, status_code=422, headers=None)
        return _error(request, 422, "; ".join(_describe(e) for e in exc.errors()))

    app.add_middleware(Guard, tokens=services.tokens, max_request_bytes=settings.max_request_bytes)
    return app


def _describe(error: dict[str, object]) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "body"))  # type: ignore[union-attr]
    return f"{where}: {error.get('msg')}"


def _error(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api"):
        return JSONResponse({"detail": message}, status_code=status)
    return web.error_page(request, status, message)
