"""The app's JSON API on the tiny trained workspace: every endpoint, with its errors."""

from __future__ import annotations

import base64
import csv
import io
import json
import shutil
from typing import Any

import networkx as nx
import pytest

from tests.browser import support
from tests.browser.support import AppHandle

app = support.app
empty_app = support.empty_app
tiny_setup = support.tiny_setup
tiny_trained = support.tiny_trained


def get(app: AppHandle, path: str, status: int = 200, **params: Any) -> Any:
    response = app.client.get(path, params=params, headers=app.headers)
    assert response.status_code == status, response.text
    return response.json() if "json" in response.headers.get("content-type", "") else response


def test_overview_and_openapi_schema(app: AppHandle) -> None:
    overview = get(app, "/api/overview")
    assert overview["ads"] >= 150 and overview["clusters"] > 0 and overview["model"] == "tiny-mm"
    schema = get(app, "/api/openapi.json")
    for path in ("/api/search", "/api/ads/{ad_id}/linked", "/api/predict", "/api/clusters"):
        assert path in schema["paths"]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_search_by_phone_in_any_spelling(app: AppHandle) -> None:
    digits = app.phone[-10:]  # +1NPA55501XX -> NPA-555-01XX
    spelled = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    result = get(app, "/api/search", q=spelled)
    assert result["kind"] == "phone" and result["total"] >= 1
    assert app.phone_ad in {r["ad_id"] for r in result["results"]}
    same = get(app, "/api/search", q=app.phone, kind="phone")
    assert same["total"] == result["total"]


def test_search_kinds_text_alias_id_and_pages(app: AppHandle) -> None:
    ad = get(app, f"/api/ads/{app.phone_ad}")
    by_id = get(app, "/api/search", q=app.phone_ad)
    assert by_id["kind"] == "id" and [r["ad_id"] for r in by_id["results"]] == [app.phone_ad]
    word = max(ad["text"].split(), key=len)
    text = get(app, "/api/search", q=word, kind="text")
    assert text["total"] >= 1
    assert all(word.lower() in r["snippet"].lower() or r["snippet"].endswith("…")
               for r in text["results"])  # fmt: skip
    if ad["fields"]["names"]:
        alias = get(app, "/api/search", q=ad["fields"]["names"][0].upper(), kind="alias")
        assert app.phone_ad in {r["ad_id"] for r in alias["results"]}
    everything = get(app, "/api/search", q="[SEP]", kind="text", page_size=7)
    assert everything["total"] > 7 and len(everything["results"]) == 7
    second = get(app, "/api/search", q="[SEP]", kind="text", page_size=7, page=2)
    assert not {r["ad_id"] for r in everything["results"]} & {r["ad_id"] for r in second["results"]}
    assert all(r["snippet"].count("<PHONE>") or not any(c.isdigit() for c in r["snippet"])
               for r in everything["results"])  # masked text: no digits left  # fmt: skip


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "x", "kind": "nonsense"}, "search kind"),
        ({"q": "   "}, "empty"),
        ({"q": "lily", "kind": "phone"}, "not a phone number"),
        ({"q": "lily", "kind": "email"}, "not an email"),
        ({"q": "x", "page": 0}, "page must be"),
        ({"q": "x", "page_size": 10_000}, "page_size"),
    ],
)
def test_search_errors(app: AppHandle, params: dict[str, Any], message: str) -> None:
    assert message in str(get(app, "/api/search", 422, **params)["detail"])


def test_ad_detail_is_masked_until_revealed(app: AppHandle) -> None:
    masked = get(app, f"/api/ads/{app.phone_ad}")
    assert masked["revealed"] is False and "<PHONE>" in masked["text"]
    assert masked["fields"]["phones"] == ["<PHONE>"] * len(masked["fields"]["phones"])
    assert masked["images"] and masked["images"][0]["url"].endswith("/images/0")
    raw = get(app, f"/api/ads/{app.phone_ad}", reveal=True)
    assert raw["revealed"] is True and "<PHONE>" not in raw["text"]
    assert app.phone in raw["fields"]["phones"]
    assert "no ad" in get(app, "/api/ads/no-such-ad", 404)["detail"]


def test_images_are_served_and_missing_ones_are_404(app: AppHandle) -> None:
    response = get(app, f"/api/ads/{app.phone_ad}/images/0")
    assert response.headers["content-type"].startswith("image/") and len(response.content) > 100
    get(app, f"/api/ads/{app.phone_ad}/images/99", 404)
    get(app, f"/api/ads/{app.phone_ad}/images/first", 422)


def test_linked_ads_best_first_without_the_query(app: AppHandle) -> None:
    result = get(app, f"/api/ads/{app.phone_ad}/linked", k=5)
    hits = result["linked"]
    assert [h["rank"] for h in hits] == [1, 2, 3, 4, 5] and result["model"] == "tiny-mm"
    assert app.phone_ad not in {h["ad_id"] for h in hits}
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert all("snippet" in h for h in hits)
    get(app, f"/api/ads/{app.phone_ad}/linked", 422, k=0)
    get(app, "/api/ads/no-such-ad/linked", 404)


def test_knowledge_graph_of_an_ad(app: AppHandle) -> None:
    graph = get(app, f"/api/ads/{app.phone_ad}/graph", k=4)
    ids = {n["id"] for n in graph["nodes"]}
    assert graph["query"] == app.phone_ad and app.phone_ad in ids and len(ids) == 5
    assert [n["id"] for n in graph["nodes"] if n["query"]] == [app.phone_ad]
    to_query = [e for e in graph["edges"] if e["kind"] == "query"]
    assert len(to_query) == 4 and all(-1 <= e["score"] <= 1.0001 for e in to_query)
    assert all(e["source"] in ids and e["target"] in ids for e in graph["edges"])
    assert all(n["cluster"] != "" for n in graph["nodes"])
    get(app, "/api/ads/no-such-ad/graph", 404)


def test_flags_absent_then_read_from_the_flags_table(app: AppHandle) -> None:
    assert "not computed" in get(app, f"/api/ads/{app.phone_ad}/flags", 409)["detail"]
    con = app.services.cursor()
    con.execute(
        "INSERT INTO flags VALUES (?, 'm', 'movement', 0.9, true, 'r'), "
        "(?, 'm', 'third_party', 0.1, false, 'r')",
        [app.phone_ad, app.phone_ad],
    )
    try:
        flags = get(app, f"/api/ads/{app.phone_ad}/flags")["flags"]
        assert {(f["label"], f["flagged"]) for f in flags} == {
            ("movement", True), ("third_party", False)
        }  # fmt: skip
        other = con.execute("SELECT min(ad_id) FROM ads WHERE ad_id <> ?", [app.phone_ad])
        get(app, f"/api/ads/{other.fetchone()[0]}/flags", 404)
        get(app, "/api/ads/no-such-ad/flags", 404)
    finally:
        con.execute("DELETE FROM flags")


def test_cluster_list_filters_sorting_and_pages(app: AppHandle) -> None:
    result = get(app, "/api/clusters", page_size=5)
    sizes = [c["n_ads"] for c in result["clusters"]]
    assert result["total"] > 5 and sizes == sorted(sizes, reverse=True) and len(sizes) == 5
    assert {"n_phones", "cities", "first_posted", "image_reuse_ratio"} <= set(result["clusters"][0])
    big = get(app, "/api/clusters", min_size=sizes[0])
    assert big["total"] >= 1 and all(c["n_ads"] >= sizes[0] for c in big["clusters"])
    small = get(app, "/api/clusters", max_size=1, sort="-size")
    assert all(c["n_ads"] == 1 for c in small["clusters"])
    city = result["clusters"][0]["cities"][0]
    in_city = get(app, "/api/clusters", city=city, sort="last_seen", page_size=200)
    assert 1 <= in_city["total"] < result["total"]
    assert all(city in c["cities"] for c in in_city["clusters"])
    last = [c["last_posted"] for c in in_city["clusters"]]
    assert last == sorted(last, reverse=True)
    second = get(app, "/api/clusters", page_size=5, page=2)["clusters"]
    assert not {c["cluster"] for c in second} & {c["cluster"] for c in result["clusters"]}
    assert "sort" in get(app, "/api/clusters", 422, sort="best")["detail"]


def test_cluster_detail_profile_timeline_members_graph(app: AppHandle) -> None:
    first = get(app, "/api/clusters", page_size=1)["clusters"][0]
    detail = get(app, f"/api/clusters/{first['cluster']}", page_size=4)
    size = int(first["n_ads"])
    assert detail["profile"]["n_ads"] == size and len(detail["members"]) == min(4, size)
    assert sum(d["ads"] for d in detail["timeline"]) <= size
    assert sum(c["ads"] for c in detail["cities"]) == size
    phones = detail["top_values"]["phones"]
    assert phones and all(p["value"].startswith("<PHONE>") for p in phones)
    revealed = get(app, f"/api/clusters/{first['cluster']}", reveal=True)
    assert all(p["value"].startswith("+") for p in revealed["top_values"]["phones"])
    graph = get(app, f"/api/clusters/{first['cluster']}/graph")
    assert len(graph["nodes"]) == size and graph["truncated"] is False
    assert graph["edges"] and {e["kind"] for e in graph["edges"]} <= {"match", "identifier"}
    get(app, "/api/clusters/999999", 404)
    get(app, "/api/clusters/999999/graph", 404)


def test_empty_workspace_says_what_is_missing(empty_app: AppHandle) -> None:
    assert "resolve" in get(empty_app, "/api/clusters", 409)["detail"]
    assert get(empty_app, "/api/search", q="anything")["total"] == 0
    body = {"instances": [{"text": "hello"}]}
    response = empty_app.client.post("/api/predict", json=body, headers=empty_app.headers)
    assert response.status_code == 409 and "no trained vendor model" in response.json()["detail"]


def test_predict_text_image_and_both(app: AppHandle) -> None:
    image = base64.b64encode(app.image_path.read_bytes()).decode()
    body = {
        "instances": [
            {"text": "Sweet Rose new in town, call 713-555-0101"},
            {"image_base64": image},
            {"text": "Sweet Rose again", "image_base64": [image, image]},
        ],
        "k": 3,
    }
    response = app.client.post("/api/predict", json=body, headers=app.headers)
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert len(predictions) == 3
    for p in predictions:
        assert len(p["linked_ads"]) == 3 and p["vendor_candidates"]
        probs = [c["probability"] for c in p["vendor_candidates"]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
        assert p["flags"]["available"] is False
    assert "<PHONE>" in predictions[0]["masked_text"]


def test_predict_and_ad_flags_with_a_flag_model(
    app: AppHandle, tiny_setup: tuple[Any, Any, Any]
) -> None:
    from vendorlink.flag import FlagConfig, FlagModel, FlagNetwork, score_flags

    workspace, text, image = tiny_setup
    root = workspace.path.parent.parent  # the tiny encoders' folders are saved beside it
    config = FlagConfig(
        labels=["movement", "third_party"], text_dim=text.dim, image_dim=image.dim,
        fusion_dim=8, hidden=(8,), text_encoder=text.name, image_encoder=image.name,
        text_encoder_spec=str(root / "bert"), image_encoder_spec=str(root / "vit"),
    )  # fmt: skip
    folder = app.services.workspace.artefacts / "models" / "flag" / "tiny-flags"
    FlagModel(FlagNetwork(config), [0.5, 0.5]).save(folder)
    try:
        body = {"instances": [{"text": "on tour, leaving soon"}]}
        response = app.client.post("/api/predict", json=body, headers=app.headers)
        assert response.status_code == 200, response.text
        flags = response.json()["predictions"][0]["flags"]
        assert flags["available"] is True
        assert set(flags["probabilities"]) == {"movement", "third_party"}
        assert all(0 <= v <= 1 for v in flags["probabilities"].values())
        score_flags(app.services.workspace, folder)
        rows = get(app, f"/api/ads/{app.phone_ad}/flags")["flags"]
        assert {r["label"] for r in rows} == {"movement", "third_party"}
        page = app.client.get(f"/ads/{app.phone_ad}", headers=app.headers)
        assert "third party" in page.text or "third_party" in page.text
    finally:
        shutil.rmtree(folder)
        app.services.cursor().execute("DELETE FROM flags")


@pytest.mark.parametrize(
    ("instances", "status", "message"),
    [
        ([], 422, "empty"),
        ([{"text": ""}], 422, "neither text nor an image"),
        ([{"image_base64": "***"}], 422, "not valid base64"),
        ([{"image_base64": base64.b64encode(b"not an image").decode()}], 422, "decode"),
        ([{"text": "x"}] * 17, 422, "at most 16"),
        ([{"text": "x" * 20_001}], 413, "characters"),
    ],
)
def test_predict_errors(
    app: AppHandle, instances: list[dict[str, Any]], status: int, message: str
) -> None:
    response = app.client.post("/api/predict", json={"instances": instances}, headers=app.headers)
    assert response.status_code == status and message in response.json()["detail"]


def test_ingest_a_new_ad_then_find_and_link_it(app: AppHandle) -> None:
    text = f"Brand new here [SEP] Rosalind, call {app.phone[2:]}, rosalind@example.com"
    files = [("images", ("pic.jpg", app.image_path.read_bytes(), "image/jpeg"))]
    data = {"text": text, "city": "Houston", "region": "South", "posted_at": "2016-05-01"}
    response = app.client.post("/api/ads", data=data, files=files, headers=app.headers)
    assert response.status_code == 201, response.text
    result = response.json()
    ad_id = result["ad_id"]
    assert result["ingest"]["added"] == 1 and result["ingest"]["images_added"] == 1
    assert len(result["linked"]["linked"]) == 10
    assert result["resolve"]["linked"] is True and result["resolve"]["via"] == "identifier"
    cluster = result["resolve"]["cluster"]
    assert get(app, f"/api/ads/{ad_id}")["cluster"] == cluster
    assert ad_id in {r["ad_id"] for r in get(app, "/api/search", q=app.phone)["results"]}
    ad = get(app, f"/api/ads/{ad_id}", reveal=True)
    assert ad["city"] == "Houston" and "rosalind@example.com" in ad["fields"]["emails"]
    assert get(app, f"/api/ads/{ad_id}/images/0").content == app.image_path.read_bytes()
    bad = app.client.post("/api/ads", data={"text": "  "}, headers=app.headers)
    assert bad.status_code == 422 and "needs text" in bad.json()["detail"]
    bad_date = app.client.post(
        "/api/ads", data={"text": "x", "posted_at": "yesterday"}, headers=app.headers
    )
    assert bad_date.status_code == 422 and "bad_value" in bad_date.json()["detail"]


def test_exports_gexf_graphml_csv(app: AppHandle) -> None:
    gexf = get(app, f"/api/export/ads/{app.phone_ad}/graph.gexf")
    assert "attachment" in gexf.headers["content-disposition"]
    graph = nx.read_gexf(io.BytesIO(gexf.content))
    assert app.phone_ad in graph.nodes and graph.number_of_nodes() == 11
    cluster = get(app, "/api/clusters", page_size=1)["clusters"][0]
    graphml = get(app, f"/api/export/clusters/{cluster['cluster']}/graph.graphml")
    assert nx.read_graphml(io.BytesIO(graphml.content)).number_of_nodes() == cluster["n_ads"]
    as_json = app.client.get(
        f"/api/export/clusters/{cluster['cluster']}/graph.json", headers=app.headers
    )
    assert "attachment" in as_json.headers["content-disposition"]
    assert len(json.loads(as_json.content)["nodes"]) == cluster["n_ads"]
    members = get(app, f"/api/export/clusters/{cluster['cluster']}/members.csv")
    assert len(list(csv.DictReader(io.StringIO(members.text)))) == cluster["n_ads"]
    listing = get(app, "/api/export/clusters.csv", min_size=2)
    rows = list(csv.DictReader(io.StringIO(listing.text)))
    assert len(rows) == get(app, "/api/clusters", min_size=2)["total"]
    assert {"cluster", "n_ads", "n_phones"} <= set(rows[0])
    found = get(app, "/api/export/search.csv", q="[SEP]", kind="text")
    assert len(list(csv.DictReader(io.StringIO(found.text)))) == get(
        app, "/api/search", q="[SEP]", kind="text")["total"]  # fmt: skip
    get(app, f"/api/export/ads/{app.phone_ad}/graph.dot", 422)


def test_audit_log_records_search_view_reveal_export(app: AppHandle) -> None:
    marker = "audit-marker-words"
    get(app, "/api/search", q=marker)
    get(app, f"/api/ads/{app.phone_ad}")
    get(app, f"/api/ads/{app.phone_ad}", reveal=True)
    get(app, f"/api/export/ads/{app.phone_ad}/graph.graphml")
    entries = get(app, "/api/audit", limit=10)["entries"]
    actions = [(e["action"], e["target"]) for e in entries[:4]]
    assert actions == [
        ("export", f"ad {app.phone_ad} graph.graphml"),
        ("reveal", app.phone_ad),
        ("view_ad", app.phone_ad),
        ("search", marker),
    ]
    assert all(e["actor"] == "analyst" and e["client"] for e in entries[:4])
    only = get(app, "/api/audit", action="reveal")["entries"]
    assert only and all(e["action"] == "reveal" for e in only)
    get(app, "/api/audit", 422, limit=0)


def test_pages_render(app: AppHandle) -> None:
    cluster = get(app, "/api/clusters", page_size=1)["clusters"][0]["cluster"]
    for path, needle in [
        ("/", "Search"),
        (f"/?q={app.phone}", "phone search"),
        (f"/ads/{app.phone_ad}", "Linked ads"),
        ("/clusters?sort=phones", "Vendor clusters"),
        (f"/clusters/{cluster}", "Posting timeline"),
        ("/upload", "Ingest and link"),
        ("/audit", "Audit log"),
    ]:
        page = app.client.get(path, headers=app.headers)
        assert page.status_code == 200 and needle in page.text, path
    missing = app.client.get("/ads/no-such-ad", headers=app.headers)
    assert missing.status_code == 404 and "no ad" in missing.text
