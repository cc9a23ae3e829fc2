"""Resolve settings: YAML round trip, column mapping, clear validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from vendorlink.resolve.settings import (
    BlockingRule,
    Comparison,
    FieldSpec,
    ModelSettings,
    ResolveSettings,
    SettingsError,
    TrainingSettings,
    ads_settings,
)


def febrl_like() -> ResolveSettings:
    return ResolveSettings(
        fields=[
            FieldSpec("given_name", "string"),
            FieldSpec("surname", "string", column="last_name"),
            FieldSpec("dob", "timestamp", column="date_of_birth"),
            FieldSpec("postcode", "category"),
        ],
        blocking=[
            BlockingRule("exact", keys=["postcode"]),
            BlockingRule("exact", keys=["soundex(surname)", "substr(given_name, 1, 1)"]),
        ],
        comparisons=[
            Comparison("jaro_winkler", "given_name"),
            Comparison("jaro_winkler", "surname"),
            Comparison("abs_diff", "dob"),
            Comparison("exact", "postcode"),
        ],
        model=ModelSettings("logistic_regression", {"C": 0.5}),
        training=TrainingSettings(proxy_field=None, text_field=None, n_positive=100),
        link_type="link_only",
        source_column="dataset",
        label_column="entity",
    ).validate()


@pytest.mark.parametrize("make", [ads_settings, febrl_like])
def test_yaml_round_trip(make, tmp_path: Path) -> None:
    settings = make()
    text = settings.to_yaml(tmp_path / "resolve.yaml")
    assert (tmp_path / "resolve.yaml").read_text(encoding="utf-8") == text
    assert ResolveSettings.from_yaml(tmp_path / "resolve.yaml") == settings
    assert ResolveSettings.from_yaml(text) == settings
    assert ResolveSettings.from_dict(settings.to_dict(compact=False)) == settings


def test_compact_yaml_leaves_defaults_out() -> None:
    text = febrl_like().to_yaml()
    assert "column: last_name" in text
    assert "max_hamming" not in text.split("model:")[0]  # rule/comparison defaults omitted


def test_yaml_written_by_hand() -> None:
    text = """
    fields:
      - {name: text, kind: text, column: masked_text}
      - {name: phones, kind: string_list}
    blocking:
      - {kind: rare_tokens, field: text, ngram: 2, max_df: 10}
    comparisons:
      - {kind: lcs, field: text, unit: char, max_len: 100}
    threshold: {method: bound, max_component_size: 50}
    """
    settings = ResolveSettings.from_yaml(text)
    assert settings.field_spec("text").source_column == "masked_text"
    assert settings.blocking[0].label == "rare_tokens:text/2"
    assert settings.comparisons[0].label == "lcs:text/char"
    assert settings.threshold.max_component_size == 50


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.comparisons.append(Comparison("shared_count", "phones")), "proxy field"),
        (lambda s: s.comparisons.append(Comparison("cosine", "text")), "cosine takes"),
        (lambda s: s.comparisons.append(Comparison("jaccard", "nowhere")), "not a declared"),
        (lambda s: s.blocking.append(BlockingRule("hash_bands", "image_hashes", bands=3)), "bands"),
        (lambda s: s.blocking.append(BlockingRule("exact")), "at least one key"),
        (lambda s: setattr(s.model, "kind", "svm"), "model.kind"),
        (lambda s: setattr(s, "link_type", "link_only"), "source_column"),
    ],
)
def test_validation_names_the_entry(change, message: str) -> None:
    settings = ads_settings()
    change(settings)
    with pytest.raises(SettingsError, match=message):
        settings.validate()


def test_unknown_yaml_key_is_an_error() -> None:
    with pytest.raises(SettingsError, match="unknown keys"):
        ResolveSettings.from_yaml("fields: []\nthreshold: {methd: knee}\n")
