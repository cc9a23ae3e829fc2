"""Tables of a vendorlink workspace (DuckDB DDL) and the reasons a row can be rejected.

Every stage writes its own tables; the DDL lives here so that the layout of a
workspace is readable in one place. Key names and meanings:

- ``runs``: one row per command run (id, command, parameters, status, stats, times).
- ``sources``: one row per ingested source (name, path, format, image root, column map).
- ``ads``: one row per ad. ``ad_id`` is stable across runs (see ``vendorlink.data.ingest``).
  ``content_hash`` identifies the ad's content (text and image bytes); ``duplicate_of`` names
  the first ad with the same content (exact duplicates are kept and recorded, never dropped).
- ``images``: one row per (ad, image position). ``image_id`` is the SHA-256 of the file bytes,
  so one picture posted in several ads has one ``image_id``.
- ``rejects``: bad rows and bad images, with a reason code (``REJECT_REASONS``) and detail.
- ``fields``: fields extracted from each ad's text, and the masked text models see.
- ``image_fields``: perceptual hashes and face flags, one row per distinct image.
- ``labels``: vendor labels per ad and label source (``given``, ``identifiers``, ``truth``).
- ``label_communities``: per label source, each community's size and identifiers.
- ``splits``: per split name, each ad's part (train / val / test), domain and vendor scope.
- ``resolve_pairs``: the scored candidate pairs of the latest resolve run.
- ``resolve_clusters``: the vendor cluster of each ad from the latest resolve run.
- ``flags``: per flag model, each ad's probability and decision for each indicator label.
- ``audit_log``: one row per action of the investigator app (who, when, what: search, view,
  reveal, export, ingest, predict); written by ``vendorlink serve``.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

REJECT_REASONS: dict[str, str] = {
    "no_content": "the row has neither text nor an image",
    "bad_encoding": "a field is not valid text in the file's encoding",
    "bad_json": "the line is not a JSON object",
    "malformed_row": "the row has more fields than the header",
    "bad_value": "a field has a value that cannot be parsed (e.g. a date)",
    "id_conflict": "the ad id was already used for different content",
    "repeated_row": "the same ad id with the same content appears again in this source",
    "image_missing": "an image file does not exist",
    "image_outside_root": "an image path points outside the image root",
    "image_undecodable": "an image file cannot be decoded",
    "bad_image": "the ad was rejected because one of its images was rejected",
}

DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY,
        command VARCHAR NOT NULL,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP,
        status VARCHAR NOT NULL,
        params JSON,
        stats JSON,
        error VARCHAR,
        version VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS sources (
        source VARCHAR PRIMARY KEY,
        path VARCHAR,
        format VARCHAR,
        image_root VARCHAR,
        column_map JSON,
        first_run VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS ads (
        ad_id VARCHAR PRIMARY KEY,
        source VARCHAR NOT NULL,
        source_row BIGINT NOT NULL,
        external_id VARCHAR,
        title VARCHAR,
        description VARCHAR,
        text VARCHAR NOT NULL,
        has_text BOOLEAN NOT NULL,
        n_images INTEGER NOT NULL,
        has_image BOOLEAN NOT NULL,
        vendor VARCHAR,
        region VARCHAR,
        city VARCHAR,
        posted_at DATE,
        content_hash VARCHAR NOT NULL,
        row_hash VARCHAR NOT NULL,
        duplicate_of VARCHAR,
        extra JSON,
        run_id VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS images (
        ad_id VARCHAR NOT NULL,
        position INTEGER NOT NULL,
        image_id VARCHAR NOT NULL,
        root VARCHAR NOT NULL,
        path VARCHAR NOT NULL,
        width INTEGER,
        height INTEGER,
        format VARCHAR,
        n_bytes BIGINT,
        run_id VARCHAR NOT NULL,
        PRIMARY KEY (ad_id, position)
    )""",
    """CREATE TABLE IF NOT EXISTS rejects (
        run_id VARCHAR NOT NULL,
        source VARCHAR,
        source_row BIGINT,
        ad_id VARCHAR,
        kind VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,
        detail VARCHAR,
        raw JSON
    )""",
    """CREATE TABLE IF NOT EXISTS fields (
        ad_id VARCHAR PRIMARY KEY,
        phones VARCHAR[],
        emails VARCHAR[],
        urls VARCHAR[],
        social_handles VARCHAR[],
        ages INTEGER[],
        rates INTEGER[],
        names VARCHAR[],
        ethnicities VARCHAR[],
        hair_colours VARCHAR[],
        eye_colours VARCHAR[],
        skin_colours VARCHAR[],
        heights_cm INTEGER[],
        weights_kg INTEGER[],
        measurements VARCHAR[],
        restrictions VARCHAR[],
        masked_text VARCHAR,
        n_chars INTEGER,
        n_special_chars INTEGER,
        n_emoji INTEGER,
        n_tokens INTEGER,
        n_unique_tokens INTEGER,
        uppercase_ratio DOUBLE,
        run_id VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS image_fields (
        image_id VARCHAR PRIMARY KEY,
        phash VARCHAR,
        dhash VARCHAR,
        n_faces INTEGER,
        has_face BOOLEAN,
        error VARCHAR,
        run_id VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS labels (
        ad_id VARCHAR NOT NULL,
        label_source VARCHAR NOT NULL,
        vendor VARCHAR NOT NULL,
        run_id VARCHAR,
        PRIMARY KEY (ad_id, label_source)
    )""",
    """CREATE TABLE IF NOT EXISTS label_communities (
        label_source VARCHAR NOT NULL,
        vendor VARCHAR NOT NULL,
        n_ads INTEGER NOT NULL,
        n_identifiers INTEGER,
        identifiers VARCHAR[],
        is_giant BOOLEAN,
        run_id VARCHAR,
        PRIMARY KEY (label_source, vendor)
    )""",
    """CREATE TABLE IF NOT EXISTS splits (
        split_name VARCHAR NOT NULL,
        ad_id VARCHAR NOT NULL,
        part VARCHAR NOT NULL,
        domain VARCHAR NOT NULL,
        vendor VARCHAR,
        vendor_scope VARCHAR,
        run_id VARCHAR,
        PRIMARY KEY (split_name, ad_id)
    )""",
    """CREATE TABLE IF NOT EXISTS resolve_pairs (
        run_id VARCHAR NOT NULL,
        left_ad VARCHAR NOT NULL,
        right_ad VARCHAR NOT NULL,
        score REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS resolve_clusters (
        run_id VARCHAR NOT NULL,
        ad_id VARCHAR PRIMARY KEY,
        cluster INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS flags (
        ad_id VARCHAR NOT NULL,
        model VARCHAR NOT NULL,
        label VARCHAR NOT NULL,
        probability REAL NOT NULL,
        flagged BOOLEAN NOT NULL,
        run_id VARCHAR NOT NULL,
        PRIMARY KEY (model, ad_id, label)
    )""",
    """CREATE TABLE IF NOT EXISTS audit_log (
        logged_at TIMESTAMP NOT NULL,
        actor VARCHAR NOT NULL,
        client VARCHAR,
        action VARCHAR NOT NULL,
        target VARCHAR,
        detail JSON
    )""",
)
