"""Linking ads with a trained model on the tiny generated workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import test_train_workspace as _shared
from vendorlink.data.workspace import Workspace
from vendorlink.errors import InputError
from vendorlink.link import EmbeddingIndex, embed_workspace_ads, index_folder, link_ad

tiny_setup = _shared.tiny_setup  # session fixtures shared with the training tests
tiny_trained = _shared.tiny_trained


def test_link_ad_returns_other_ads_best_first(tiny_trained: tuple[Workspace, Path]) -> None:
    workspace, model = tiny_trained
    ids, matrix = embed_workspace_ads(workspace, model)
    assert matrix.shape[0] == len(ids) > 10
    hits = link_ad(workspace, model, ids[0], k=5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert ids[0] not in {h.ad_id for h in hits}
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    folder = index_folder(workspace, model)
    assert EmbeddingIndex.read_meta(folder)["n"] == len(ids)
    again = link_ad(workspace, model, ids[0], k=5)  # reuses the saved index
    assert again == hits


def test_unknown_ad_is_a_clear_error(tiny_trained: tuple[Workspace, Path]) -> None:
    workspace, model = tiny_trained
    with pytest.raises(InputError, match="not in the link index"):
        link_ad(workspace, model, "no-such-ad", k=3)
