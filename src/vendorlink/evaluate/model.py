"""Evaluate a trained vendor model (or the zero-shot encoders) on a workspace's split.

Needs torch (it embeds with the model); import it as ``vendorlink.evaluate.model``.

Setup (MATCHED): **documents = the train part, queries = the test part**, of the same
region (``ads.region``; the split's domain when ads have no region), labels from one label
source. Regions in the split's ``in`` domain are in-distribution; the others are
out-of-distribution (OOD: the model never saw their ads). Retrieval metrics and their
averaging are those of :mod:`vendorlink.evaluate.retrieval` (R-Precision@X with X = R,
MRR@10 from a k = 10 search, Macro-F1@X pooled per vendor; each as mean and std over
queries and over vendors); classification metrics those of
:mod:`vendorlink.evaluate.classification`.

Views (which embedding of an ad is searched):

- ``multimodal``: the model's embedding from the ad's text and images (ads with either);
- ``text``: text→text, the embedding from the text alone (ads with text);
- ``image``: image→image, from the images alone (ads with an image);
- ``text_to_image``: queries embedded from their text, documents from their images
  (multimodal models only: both sides live in the fused space).

A text model has only ``text``, an image model only ``image``. The **zero-shot** views use
the frozen encoders' vectors (no training at all): ``text`` (text encoder), ``image`` (mean
of the ad's image vectors) and ``multimodal`` (the unit text and unit image vectors of the
ad concatenated and scaled by 1/sqrt(2), zeros for a missing one: for two ads with both,
its cosine is the mean of the text and image cosines); there is no zero-shot
``text_to_image`` (the two encoders' spaces differ).

Averages: ``in_distribution`` = mean over in-domain regions; ``ood_average`` = mean over
OOD regions; ``zero_shot_average`` = mean over every region of the zero-shot views. Each
averages the region values of ``r_precision_query_mean``, ``r_precision_vendor_mean``,
``mrr_at_10_query_mean``, ``mrr_at_10_vendor_mean`` and ``macro_f1_at_x``.
Breakdowns: by vendor scope under the evaluated labels (``shared``: the vendor has ads in
both domains of the split; ``unique``: in one only) and by faces (``face``: the ad has at
least one image with a detected face, ``image_fields.has_face``; ``no_face``: it has
images, none with a face); only the queries are filtered, documents stay all train ads of
the region.

Identification (models with a classification head): in-domain test ads whose vendor is a
training class, predicted vendor = arg-max of the logits of the model's main view;
:func:`~vendorlink.evaluate.classification.classification_metrics` plus per-vendor F1
against the vendor's number of training ads.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vendorlink.data.workspace import Workspace
from vendorlink.errors import InputError
from vendorlink.evaluate.classification import classification_metrics, per_vendor_f1
from vendorlink.evaluate.retrieval import evaluate_retrieval

__all__ = [
    "AVERAGED",
    "ModelEvaluation",
    "evaluate_workspace_model",
    "model_views",
    "zero_shot_multimodal",
    "zero_shot_views",
]

AVERAGED: tuple[str, ...] = (
    "r_precision_query_mean",
    "r_precision_vendor_mean",
    "mrr_at_10_query_mean",
    "mrr_at_10_vendor_mean",
    "macro_f1_at_x",
)

View = tuple[np.ndarray, np.ndarray]  # (row mask over the table, embeddings of those rows)


@dataclass
class ModelEvaluation:
    """Every number of one evaluation (``metrics``, JSON-ready) and the per-vendor rows."""

    metrics: dict[str, Any]
    per_vendor: list[dict[str, Any]] = field(default_factory=list)


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def model_views(model: Any, table: Any) -> dict[str, View]:
    """The model's embeddings of ``table`` rows, per view (see the module docstring)."""
    mode = model.config.modality
    views: dict[str, View] = {}

    def embed(rows: np.ndarray, text: bool, image: bool) -> np.ndarray:
        sub = table.select(rows)
        return model.embed(
            text=sub.text if text else None,
            image=sub.image if image else None,
            has_text=sub.has_text if text else None,
            has_image=sub.has_image if image else None,
        )["embedding"]

    if mode == "multimodal":
        both = table.has_text | table.has_image
        views["multimodal"] = (both, embed(both, True, True))
    if mode in ("multimodal", "text") and table.has_text.any():
        views["text"] = (table.has_text.copy(), embed(table.has_text, True, False))
    if mode in ("multimodal", "image") and table.has_image.any():
        views["image"] = (table.has_image.copy(), embed(table.has_image, False, True))
    return views


def zero_shot_multimodal(table: Any) -> np.ndarray:
    """Per row: the unit text and unit image vectors concatenated (zeros for a missing one).

    The cosine of two such vectors is the mean of their text and image cosines when both
    ads have both (the two encoders' spaces differ, so the vectors cannot be averaged).
    """
    t = _unit(table.text) * table.has_text[:, None]
    i = _unit(table.image) * table.has_image[:, None]
    return np.concatenate([t, i], axis=1).astype(np.float32) / np.sqrt(2.0)


def zero_shot_views(table: Any) -> dict[str, View]:
    """The frozen encoders' vectors per view (no model)."""
    views: dict[str, View] = {}
    if table.text.shape[1] and table.has_text.any():
        views["text"] = (table.has_text.copy(), table.text[table.has_text])
    if table.image.shape[1] and table.has_image.any():
        views["image"] = (table.has_image.copy(), table.image[table.has_image])
    if "text" in views and "image" in views:
        both = table.has_text | table.has_image
        views["multimodal"] = (both, zero_shot_multimodal(table)[both])
    return views


def _ad_facts(con: Any, table: Any) -> dict[str, np.ndarray]:
    """Per table row: region (None when absent), has_face (None: no analysed image), scope."""
    ids = table.ad_ids.tolist()
    region = dict(con.execute("SELECT ad_id, region FROM ads").fetchall())
    face = dict(
        con.execute(
            "SELECT i.ad_id, bool_or(f.has_face) FROM images i JOIN image_fields f "
            "USING (image_id) WHERE f.has_face IS NOT NULL GROUP BY i.ad_id"
        ).fetchall()
    )
    return {
        "region": np.array([region.get(a) for a in ids], dtype=object),
        "face": np.array([face.get(a) for a in ids], dtype=object),
    }


def _scopes(table: Any) -> np.ndarray:
    """Per row: ``shared`` (its vendor has ads in both domains), ``unique`` or None."""
    vendors = table.vendor
    in_domain = {
        v for v, d in zip(vendors, table.domain, strict=True) if v is not None and d == "in"
    }
    out_domain = {
        v for v, d in zip(vendors, table.domain, strict=True) if v is not None and d == "out"
    }
    shared = in_domain & out_domain
    return np.array(
        [None if v is None else "shared" if v in shared else "unique" for v in vendors],
        dtype=object,
    )


def _retrieval(
    view_q: View, view_d: View, vendor: np.ndarray, queries: np.ndarray, documents: np.ndarray
) -> dict[str, Any] | None:
    """as_dict of the retrieval report of ``queries`` vs ``documents`` (row masks)."""
    (mask_q, emb_q), (mask_d, emb_d) = view_q, view_d
    q = queries & mask_q
    d = documents & mask_d
    if not q.any() or not d.any():
        return None
    # positions of the selected rows inside each view's embedding matrix
    pos_q = np.cumsum(mask_q) - 1
    pos_d = np.cumsum(mask_d) - 1
    report = evaluate_retrieval(emb_q[pos_q[q]], vendor[q], emb_d[pos_d[d]], vendor[d])
    return dict(report.as_dict())


def _average(rows: list[dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key in AVERAGED:
        values = [r[key] for r in rows if r and r.get(key) is not None and r["n_evaluated"]]
        values = [v for v in values if not math.isnan(v)]
        out[key] = float(np.mean(values)) if values else float("nan")
    out["n_regions"] = len([r for r in rows if r and r["n_evaluated"]])
    return out


def _regions(table: Any, facts: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, str]]:
    """Region of each row (the domain where ads have no region) and each region's domain."""
    region = np.array(
        [
            r if r is not None else (d or "all")
            for r, d in zip(facts["region"], table.domain, strict=False)
        ],
        dtype=object,
    )
    domain_of: dict[str, str] = {}
    for name in sorted(set(region[table.part != None].tolist())):  # noqa: E711
        domains = table.domain[(region == name) & (table.part != None)].tolist()  # noqa: E711
        domain_of[name] = max(set(domains), key=domains.count) if domains else "in"
    return region, domain_of


def evaluate_views(
    views: dict[str, View],
    table: Any,
    region: np.ndarray,
    domain_of: dict[str, str],
    extra_filters: dict[str, dict[str, np.ndarray]] | None = None,
    cross: bool = False,
) -> dict[str, Any]:
    """Per view: per-region reports, the in-distribution and OOD averages, breakdowns."""
    labelled = np.array([v is not None for v in table.vendor], dtype=bool)
    vendor = np.array([str(v) if v is not None else "" for v in table.vendor], dtype=object)
    pairs = {name: (view, view) for name, view in views.items()}
    if cross and "text" in views and "image" in views:
        pairs["text_to_image"] = (views["text"], views["image"])
    out: dict[str, Any] = {}
    for name, (view_q, view_d) in pairs.items():
        per_region: dict[str, Any] = {}
        breakdown: dict[str, dict[str, Any]] = {}
        for reg in domain_of:
            in_region = labelled & (region == reg)
            queries, documents = (
                in_region & (table.part == "test"),
                in_region & (table.part == "train"),
            )
            per_region[reg] = _retrieval(view_q, view_d, vendor, queries, documents)
            for group, masks in (extra_filters or {}).items():
                for value, mask in masks.items():
                    row = _retrieval(view_q, view_d, vendor, queries & mask, documents)
                    breakdown.setdefault(group, {}).setdefault(value, {})[reg] = row
        in_rows = [per_region[r] for r, d in domain_of.items() if d == "in"]
        out_rows = [per_region[r] for r, d in domain_of.items() if d != "in"]
        out[name] = {
            "regions": per_region,
            "in_distribution": _average(in_rows),
            "ood_average": _average(out_rows),
            "all_regions_average": _average(list(per_region.values())),
            **breakdown,
        }
    return out


def _model_settings(folder: Path) -> dict[str, Any]:
    path = folder / "train_config.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def evaluate_workspace_model(
    workspace: Workspace,
    model_folder: str | Path | None,
    *,
    split_name: str | None = None,
    label_source: str | None = None,
    text_encoder: Any = None,
    image_encoder: Any = None,
    zero_shot: bool = True,
    progress: bool = False,
) -> ModelEvaluation:
    """Evaluate ``model_folder`` (``None``: zero-shot encoders only) on the workspace.

    ``split_name`` / ``label_source`` / encoders default to those the model was trained
    with (``train_config.json``), else ``"default"`` / the workspace's default label
    source / MiniLM and EfficientNet-Lite0. ``zero_shot`` adds the zero-shot views.
    """
    from vendorlink.models.multimodal import VendorModel
    from vendorlink.train.data import build_ad_table

    model = None
    settings: dict[str, Any] = {}
    if model_folder is not None:
        folder = Path(model_folder)
        if not (folder / "config.json").is_file():
            raise InputError(f"{folder} is not a trained model folder (config.json missing)")
        model = VendorModel.load(folder)
        settings = _model_settings(folder)
    mode = model.config.modality if model is not None else "multimodal"
    split_name = split_name or settings.get("split_name", "default")
    label_source = label_source or settings.get("label_source") or None
    text_enc = text_encoder or settings.get("text_encoder", "minilm")
    image_enc = image_encoder or settings.get("image_encoder", "efficientnet-lite0")
    with workspace.connect(read_only=True) as con:
        table = build_ad_table(
            workspace,
            con=con,
            split_name=split_name,
            label_source=label_source,
            text_encoder=text_enc if mode != "image" or zero_shot else None,
            image_encoder=image_enc if mode != "text" or zero_shot else None,
            backend=settings.get("encoder_backend", "torch"),
            progress=progress,
        )
        facts = _ad_facts(con, table)
    scope = _scopes(table)
    label_source = label_source or workspace.settings.get("default_label_source")
    region, domain_of = _regions(table, facts)
    filters = {
        "vendor_scope": {s: scope == s for s in ("shared", "unique")},
        "faces": {
            "face": np.array([f is True for f in facts["face"]], dtype=bool),
            "no_face": np.array([f is False for f in facts["face"]], dtype=bool),
        },
    }
    metrics: dict[str, Any] = {
        "model": str(model_folder) if model_folder is not None else None,
        "modality": mode if model is not None else None,
        "split_name": split_name,
        "label_source": label_source,
        "text_encoder": table.text_encoder,
        "image_encoder": table.image_encoder,
        "regions": {r: {"domain": d} for r, d in domain_of.items()},
        "counts": _counts(table, region, domain_of),
    }
    per_vendor: list[dict[str, Any]] = []
    if model is not None:
        views = model_views(model, table)
        metrics["retrieval"] = evaluate_views(
            views, table, region, domain_of, filters, cross=mode == "multimodal"
        )
        if model.classifier is not None and model.vendors:
            metrics["classification"], per_vendor = _identify(model, table, views, mode)
    if zero_shot:
        zs = evaluate_views(zero_shot_views(table), table, region, domain_of, filters)
        metrics["zero_shot"] = zs
        metrics["zero_shot_average"] = {
            name: entry["all_regions_average"] for name, entry in zs.items()
        }
    return ModelEvaluation(metrics=metrics, per_vendor=per_vendor)


def _counts(table: Any, region: np.ndarray, domain_of: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for reg in domain_of:
        sel = region == reg
        out[reg] = {
            part: int((sel & (table.part == part)).sum()) for part in ("train", "val", "test")
        }
        out[reg]["vendors"] = len({v for v in table.vendor[sel].tolist() if v is not None})
    return out


def _identify(
    model: Any, table: Any, views: dict[str, View], mode: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    main = "multimodal" if mode == "multimodal" else mode
    mask, _ = views[main]
    classes = set(model.vendors)
    vendor = np.array([str(v) if v is not None else None for v in table.vendor], dtype=object)
    known = np.array([v in classes for v in vendor], dtype=bool)
    test = mask & known & (table.part == "test") & (table.domain == "in")
    train = known & (table.part == "train") & (table.domain == "in")
    n_unknown = int((mask & ~known & (table.part == "test") & (table.domain == "in")).sum())
    if not test.any():
        return {"n_samples": 0, "n_test_unknown_vendor": n_unknown}, []
    from vendorlink.train.trainer import model_outputs, predict_vendors

    sub = table.select(test)
    predicted = predict_vendors(model, model_outputs(model, sub))
    truth = vendor[test]
    result = dict(classification_metrics(truth, predicted))
    result["n_test_unknown_vendor"] = n_unknown
    result["view"] = main
    counts: dict[str, int] = {}
    for v in vendor[train].tolist():
        counts[v] = counts.get(v, 0) + 1
    rows = [r for r in per_vendor_f1(truth, predicted, counts) if r["vendor"] in set(truth)]
    return result, rows
