"""The web pages: server-rendered HTML (Jinja2) over the same service calls as the API.

Pages: search (``/``), ad (``/ads/{id}``), clusters (``/clusters``, ``/clusters/{n}``),
upload (``/upload``), audit log (``/audit``), login. The graphs are drawn in the browser by
Cytoscape.js (vendored under ``/static``) from the JSON API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from vendorlink.app.api import audit, services
from vendorlink.app.charts import bar_chart, timeline_chart
from vendorlink.app.queries import SEARCH_KINDS
from vendorlink.app.security import COOKIE_NAME
from vendorlink.app.services import CLUSTER_SORTS, AppError

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    state = request.scope.get("state", {})
    context.setdefault("actor", state.get("actor"))
    return templates.TemplateResponse(request, name, context, status_code=status)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return _render(request, "error.html", status=status, status_code=status, message=message)


def _page_links(request: Request, page: int, pages: int) -> dict[str, str | None]:
    def link(n: int) -> str:
        params = dict(request.query_params)
        params["page"] = str(n)
        return f"{request.url.path}?{urlencode(params)}"

    return {"prev": link(page - 1) if page > 1 else None,
            "next": link(page + 1) if page < pages else None}  # fmt: skip


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _render(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login")
def login(request: Request, token: Annotated[str, Form()], next: Annotated[str, Form()] = "/"):  # type: ignore[no-untyped-def]
    svc = services(request)
    actor = svc.tokens.actor(token.strip())
    if actor is None:
        return _render(request, "login.html", status=401, next=_safe_next(next),
                       error="That token is not valid for this workspace.")  # fmt: skip
    svc.audit.record(
        actor, "login", None, {}, client=request.client.host if request.client else None
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE_NAME, token.strip(), httponly=True, samesite="strict",
        secure=request.app.state.settings.cookie_secure, max_age=12 * 3600,
    )  # fmt: skip
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME)
    return response


def _safe_next(target: str) -> str:
    """Only a path on this site (no scheme, no host, no protocol-relative ``//``)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/", response_class=HTMLResponse)
def search_page(request: Request, q: str = "", kind: str = "auto", page: int = 1) -> HTMLResponse:
    svc = services(request)
    result = None
    if q.strip():
        result = svc.search(q, kind, page)
        audit(request, "search", q, kind=result["kind"], total=result["total"], page=page)
    return _render(
        request, "search.html", q=q, kind=kind, kinds=SEARCH_KINDS, result=result,
        overview=svc.overview(),
        links=_page_links(request, page, result["pages"]) if result else {},
    )  # fmt: skip


@router.get("/ads/{ad_id}", response_class=HTMLResponse)
def ad_page(request: Request, ad_id: str, reveal: bool = False) -> HTMLResponse:
    svc = services(request)
    ad = svc.ad(ad_id, reveal)
    audit(request, "reveal" if reveal else "view_ad", ad_id)
    linked: dict[str, Any] | None = None
    linked_error = None
    try:
        linked = svc.linked(ad_id)
        audit(request, "view_linked", ad_id, k=linked["k"])
    except AppError as exc:
        linked_error = exc.message
    flags, flags_error = None, None
    try:
        flags = svc.flags(ad_id)["flags"]
    except AppError as exc:
        flags_error = exc.message
    return _render(
        request, "ad.html", ad=ad, linked=linked, linked_error=linked_error, flags=flags,
        flags_error=flags_error,
    )  # fmt: skip


@router.get("/clusters", response_class=HTMLResponse)
def clusters_page(
    request: Request,
    min_size: int | None = None,
    max_size: int | None = None,
    region: str = "",
    city: str = "",
    sort: str = "size",
    page: int = 1,
) -> HTMLResponse:
    svc = services(request)
    result = svc.clusters(min_size=min_size, max_size=max_size, region=region or None,
                          city=city or None, sort=sort, page=page)  # fmt: skip
    audit(request, "list_clusters", None, sort=sort, page=page, total=result["total"])
    export = "/api/export/clusters.csv?" + urlencode(
        {k: v for k, v in request.query_params.items() if k != "page"}
    )
    return _render(
        request, "clusters.html", result=result, sorts=list(CLUSTER_SORTS), export=export,
        filters={"min_size": min_size, "max_size": max_size, "region": region, "city": city,
                 "sort": sort},
        links=_page_links(request, page, result["pages"]),
    )  # fmt: skip


@router.get("/clusters/{cluster}", response_class=HTMLResponse)
def cluster_page(
    request: Request, cluster: int, page: int = 1, reveal: bool = False
) -> HTMLResponse:
    detail = services(request).cluster(cluster, page, None, reveal)
    audit(request, "reveal_cluster" if reveal else "view_cluster", str(cluster), page=page)
    return _render(
        request, "cluster.html", c=detail,
        timeline_svg=timeline_chart(detail["timeline"]),
        cities_svg=bar_chart(detail["cities"], "ads per city"),
        links=_page_links(request, page, detail["pages"]),
    )  # fmt: skip


@router.get("/upload", response_class=HTMLResponse)
def upload_form(request: Request) -> HTMLResponse:
    return _render(request, "upload.html", error=None, limits=request.app.state.settings)


@router.post("/upload")
async def upload(
    request: Request,
    text: Annotated[str, Form()] = "",
    region: Annotated[str, Form()] = "",
    city: Annotated[str, Form()] = "",
    posted_at: Annotated[str, Form()] = "",
    images: Annotated[list[UploadFile] | None, File()] = None,
) -> Response:
    files = [(f.filename or "image", await f.read()) for f in images or [] if f.filename]
    try:
        result = await run_in_threadpool(
            services(request).ingest_ad, text, files, region=region, city=city,
            posted_at=posted_at,
        )  # fmt: skip
    except AppError as exc:
        return _render(request, "upload.html", status=exc.status, error=exc.message,
                       limits=request.app.state.settings)  # fmt: skip
    audit(request, "ingest", result["ad_id"], images=len(files))
    return RedirectResponse(f"/ads/{result['ad_id']}?uploaded=1", status_code=303)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, page: int = 1, action: str = "") -> HTMLResponse:
    size = 100
    total, rows = services(request).audit.entries(size, (max(page, 1) - 1) * size, action or None)
    pages = max(1, -(-total // size))
    return _render(request, "audit.html", rows=rows, total=total, action=action,
                   links=_page_links(request, page, pages), page=page, pages=pages)  # fmt: skip
