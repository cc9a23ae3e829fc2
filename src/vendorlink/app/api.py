"""The JSON API (``/api/...``): each endpoint is one :class:`~vendorlink.app.services.Services`
call plus one audit-log row. Errors: ``{"detail": message}`` with 401 (no or wrong token),
404 (no such ad / cluster), 409 (the workspace lacks the stage's output), 413 (too large),
422 (bad input).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field

from vendorlink.app import graphs
from vendorlink.app.services import AppError, Services

# The gate (vendorlink.app.guard) checks the token; this scheme documents it in the schema.
router = APIRouter(prefix="/api", dependencies=[Depends(HTTPBearer(auto_error=False))])
GraphFormat = Literal["gexf", "graphml", "json"]
SUMMARY_COLUMNS = ["ad_id", "posted_at", "region", "city", "cluster", "n_images", "snippet"]


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def audit(request: Request, action: str, target: str | None = None, **detail: Any) -> None:
    """One audit-log row: the token's name, the client address, the action and its target."""
    state = request.scope.get("state", {})
    services(request).audit.record(
        state.get("actor") or "?", action, target, detail, client=state.get("client")
    )


class Instance(BaseModel):
    """One new ad to predict for: text, one base64 image or a list of them, or both."""

    text: str | None = None
    image_base64: str | list[str] | None = None


class PredictRequest(BaseModel):
    instances: list[Instance] = Field(..., description="new ads (text and/or base64 images)")
    k: int | None = Field(None, description="how many linked ads per instance")


@router.get("/overview", summary="What the workspace holds and what the app can serve")
def overview(request: Request) -> dict[str, Any]:
    return services(request).overview()


@router.get("/search", summary="Search ads: full text (masked), phone, email, alias or ad id")
def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    kind: Annotated[str, Query()] = "auto",
    page: int = 1,
    page_size: int | None = None,
) -> dict[str, Any]:
    result = services(request).search(q, kind, page, page_size)
    audit(request, "search", q, kind=result["kind"], total=result["total"], page=page)
    return result


@router.get("/ads/{ad_id}", summary="One ad: masked text (raw with reveal), fields, images")
def ad(request: Request, ad_id: str, reveal: bool = False) -> dict[str, Any]:
    result = services(request).ad(ad_id, reveal)
    audit(request, "reveal" if reveal else "view_ad", ad_id)
    return result


@router.get("/ads/{ad_id}/images/{position}", summary="One image of an ad")
def image(request: Request, ad_id: str, position: int) -> FileResponse:
    path, media = services(request).image_file(ad_id, position)
    return FileResponse(path, media_type=media, headers={"Cache-Control": "private, max-age=3600"})


@router.get("/ads/{ad_id}/linked", summary="The top-k linked ads, with cosine scores")
async def linked(request: Request, ad_id: str, k: int | None = None) -> dict[str, Any]:
    result = await services(request).linked_async(ad_id, k)  # no worker thread held
    audit(request, "view_linked", ad_id, k=result["k"])
    return result


@router.get("/ads/{ad_id}/graph", summary="Knowledge graph of a query ad (node-link JSON)")
def ad_graph(request: Request, ad_id: str, k: int | None = None) -> dict[str, Any]:
    result = services(request).ad_graph(ad_id, k)
    audit(request, "view_graph", ad_id)
    return result


@router.get("/ads/{ad_id}/flags", summary="Indicator flags of an ad")
def flags(request: Request, ad_id: str) -> dict[str, Any]:
    result = services(request).flags(ad_id)
    audit(request, "view_flags", ad_id)
    return result


@router.get("/clusters", summary="Vendor clusters with filters, sorting and pages")
def clusters(
    request: Request,
    min_size: int | None = None,
    max_size: int | None = None,
    region: str | None = None,
    city: str | None = None,
    sort: str = "size",
    page: int = 1,
    page_size: int | None = None,
) -> dict[str, Any]:
    result = services(request).clusters(
        min_size=min_size, max_size=max_size, region=region, city=city, sort=sort,
        page=page, page_size=page_size,
    )  # fmt: skip
    audit(request, "list_clusters", None, sort=sort, page=page, total=result["total"])
    return result


@router.get("/clusters/{cluster}", summary="One cluster: profile, timeline, cities, members")
def cluster(
    request: Request, cluster: int, page: int = 1, page_size: int | None = None,
    reveal: bool = False,
) -> dict[str, Any]:  # fmt: skip
    result = services(request).cluster(cluster, page, page_size, reveal)
    audit(request, "reveal_cluster" if reveal else "view_cluster", str(cluster), page=page)
    return result


@router.get("/clusters/{cluster}/graph", summary="Members of a cluster and their scored pairs")
def cluster_graph(request: Request, cluster: int) -> dict[str, Any]:
    result = services(request).cluster_graph(cluster)
    audit(request, "view_cluster_graph", str(cluster))
    return result


@router.post("/predict", summary="Vendor candidates, linked ads and flags of new ads")
def predict(request: Request, body: PredictRequest) -> dict[str, Any]:
    instances = [i.model_dump() for i in body.instances]
    result = services(request).predict(instances, body.k)
    audit(request, "predict", None, instances=len(instances))
    return result


@router.post("/ads", summary="Ingest a new ad (multipart form) and link it", status_code=201)
async def ingest_ad(
    request: Request,
    text: Annotated[str, Form()] = "",
    region: Annotated[str, Form()] = "",
    city: Annotated[str, Form()] = "",
    posted_at: Annotated[str, Form()] = "",
    images: Annotated[list[UploadFile] | None, File()] = None,
) -> dict[str, Any]:
    files = [(f.filename or "image", await f.read()) for f in images or [] if f.filename]
    from starlette.concurrency import run_in_threadpool

    result = await run_in_threadpool(
        services(request).ingest_ad, text, files, region=region, city=city, posted_at=posted_at
    )
    audit(request, "ingest", result["ad_id"], images=len(files))
    return result


@router.get("/audit", summary="The audit log, newest first")
def audit_log(
    request: Request, limit: int = 100, offset: int = 0, action: str | None = None
) -> dict[str, Any]:
    if not 1 <= limit <= 1000 or offset < 0:
        raise AppError(422, "limit must be 1..1000 and offset 0 or more")
    total, rows = services(request).audit.entries(limit, offset, action)
    return {"total": total, "entries": rows}


# -- exports -------------------------------------------------------------------------------
def _download(data: bytes, media: str, filename: str) -> Response:
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/export/search.csv", summary="Export search results (CSV)")
def export_search(request: Request, q: str, kind: str = "auto") -> Response:
    rows = services(request).search_all(q, kind)
    audit(request, "export", "search.csv", q=q, rows=len(rows))
    return _download(graphs.rows_to_csv(rows, SUMMARY_COLUMNS), "text/csv", "search.csv")


@router.get("/export/clusters.csv", summary="Export the cluster list (CSV)")
def export_clusters(
    request: Request,
    min_size: int | None = None,
    max_size: int | None = None,
    region: str | None = None,
    city: str | None = None,
    sort: str = "size",
) -> Response:
    svc = services(request)
    result = svc.clusters(min_size=min_size, max_size=max_size, region=region, city=city,
                          sort=sort, limit=svc.settings.max_export_rows)  # fmt: skip
    rows = result["clusters"]
    audit(request, "export", "clusters.csv", rows=len(rows))
    columns = list(rows[0]) if rows else ["cluster", "n_ads"]
    return _download(graphs.rows_to_csv(rows, columns), "text/csv", "clusters.csv")


@router.get("/export/clusters/{cluster}/members.csv", summary="Export a cluster's ads (CSV)")
def export_members(request: Request, cluster: int) -> Response:
    svc = services(request)
    detail = svc.cluster(cluster, 1, svc.settings.max_page_size)
    rows = list(detail["members"])
    for page in range(2, detail["pages"] + 1):
        rows += svc.cluster(cluster, page, svc.settings.max_page_size)["members"]
    audit(request, "export", f"cluster {cluster} members.csv", rows=len(rows))
    name = f"cluster-{cluster}-members.csv"
    return _download(graphs.rows_to_csv(rows, SUMMARY_COLUMNS), "text/csv", name)


@router.get("/export/clusters/{cluster}/graph.{fmt}", summary="Export a cluster graph")
def export_cluster_graph(request: Request, cluster: int, fmt: GraphFormat) -> Response:
    graph = services(request).cluster_graph(cluster)
    audit(request, "export", f"cluster {cluster} graph.{fmt}")
    return _download(
        graphs.export_graph(graph, fmt), graphs.EXPORT_FORMATS[fmt], f"cluster-{cluster}.{fmt}"
    )


@router.get("/export/ads/{ad_id}/graph.{fmt}", summary="Export an ad's knowledge graph")
def export_ad_graph(
    request: Request, ad_id: str, fmt: GraphFormat, k: int | None = None
) -> Response:
    graph = services(request).ad_graph(ad_id, k)
    audit(request, "export", f"ad {ad_id} graph.{fmt}")
    return _download(
        graphs.export_graph(graph, fmt), graphs.EXPORT_FORMATS[fmt], f"ad-{ad_id}.{fmt}"
    )
