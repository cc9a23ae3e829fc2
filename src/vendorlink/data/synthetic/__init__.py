"""Deterministic generator of MATCHED-like escort-style ads whose vendors and fields are known.

The ads imitate the MATCHED dataset (Backpage, December 2015 to April 2016; seven cities in
four regions; text = title ``" [SEP] "`` description; zero to six images per ad) without
real people: every phone number is a fictional ``+1 NPA 555 01XX`` number, every email and
URL is at example.com/.org/.net, and the images are abstract pictures (textures, flowers,
hearts, stars) in each vendor's visual style. It is the benchmark for field extraction,
vendor linking and entity resolution: the truth says who really posted each ad and what
each ad really contains.

Usage::

    from vendorlink.data.synthetic import GeneratorConfig, generate, PRESETS

    config = GeneratorConfig.from_preset("tiny", seed=0)  # tiny, small, medium, matched
    config = GeneratorConfig(n_ads=1_000_000, text_only=True, seed=0)  # any size, text only
    result = generate(config, out_dir=Path("data"), progress=True)

The same config and seed give byte-identical files, whatever the number of worker
processes (``config.workers``).

Phone numbers belong to one vendor each (apart from the configured booker numbers and
chance collisions): there are 42,600 fictional numbers (555-0100..0199 on 426 geographic
area codes). Populations beyond the first 26,100 (~16k vendors) also get unique emails;
beyond all of them (~26k vendors, e.g. 1M ads) the remaining vendors get an email of their
own (example.com/.org/.net), shown where their ads would show a phone, so the share of ads
with an identifier stays the same. Smaller populations are generated exactly as before.

Output folder (written to a temporary sibling folder and renamed into place at the end; a
non-empty ``out_dir`` is refused unless ``overwrite=True``):

``ads.csv`` (``ads.parquet`` when ``text_only`` or ``output_format="parquet"``)
    One row per ad, in posting order. ``ID`` ("ad-000123"), ``TEXT`` (title ``" [SEP] "``
    description; ``""`` for the ~1% image-only ads), ``IMAGES`` (paths relative to
    ``images/`` joined with ``"|"``, ``""`` for an ad without images), ``REGION`` (South,
    Midwest, West, Northeast), ``CITY`` (Houston, Dallas, Atlanta, Chicago, Detroit, San
    Francisco, New York), ``POSTED_AT`` (``YYYY-MM-DD``). ``VENDOR`` (the true vendor id) only
    with ``include_vendor_column=True``; ``IND_MOVEMENT``, ``IND_PROMO``, ... (0/1, one per
    indicator) only with ``indicator_columns=True``.
``images/``
    JPEG files (some PNG) named by a keyed hash, ``images/3f/3fa9c2e1d4b5a6c7.jpg``; no path
    says anything about its vendor. Empty in text-only mode.
``truth_ads.parquet``
    One row per ad: ``ad_id``, ``vendor_id``, ``region``, ``city``, ``posted_at``; one list
    column per field of :data:`vendorlink.lexicon.FIELD_NAMES` holding the sorted, distinct
    canonical values the ad's text really contains (what a perfect extractor returns, in the
    lexicon's formats); ``is_exact_duplicate_of`` (the earlier ad this one re-posts with the
    same text and images, or null); ``n_images``; one boolean column per indicator of
    :data:`.indicators.INDICATORS` (``ind_movement``, ``ind_multiple_persons``,
    ``ind_third_party``, ``ind_restricted_clientele``, ``ind_reused_image``, ``ind_logo``,
    ``ind_outdoor_scene``, ``ind_promo``) and ``indicators`` (the list of the ad's positive
    indicator names). Some are decided by the text, some by the images (marks drawn on
    them), ``promo`` needs both and ``multiple_persons`` either (see :mod:`.indicators`).
``truth_images.parquet``
    One row per image file: ``path``, ``vendor_id`` (whose style it has), ``kind``
    (``original``: one ad; ``repost``: an original used in several ads; ``near_duplicate``: a
    re-encoded / cropped / brightness-shifted / rotated / resized copy of one of the vendor's
    originals; ``copied``: another vendor's original, identical or re-encoded),
    ``source_path`` (near duplicates and copies), ``ad_ids``, ``n_ads``, ``used_by_vendor_id``,
    ``transform``, ``format``, ``width``, ``height``, ``n_bytes``.
``vendors.parquet``
    One row per vendor: ``vendor_id``, ``n_ads``, ``regions``, ``cities``, ``home_region``,
    ``home_city``, ``phones`` (numbers shown in its ads), ``assigned_phones``,
    ``shares_phone``, ``rotates_phones``, ``never_shows_phone``, ``first_posted``,
    ``last_posted``, ``n_images``, ``aliases``, ``emails``, ``social_handles``, ``urls`` and
    style summaries (``casing``, ``spelling_habits``, ``emojis``, ``end_marks``, ``templates``,
    ``phone_styles``, ``signature_phrases``, ``n_stock_phrases``, ``image_texture``,
    ``image_palette``, ``image_objects``, ``image_frame``, ``image_watermark``,
    ``image_format``).
``manifest.json``
    Generator version, seed, preset and config, counts (ads, vendors, images and their
    kinds, ads per region and city, vendors per region, duplicates, ads with each field),
    ``indicators`` (``names``, ``modality`` of each: "text", "image", "both" or "either",
    ``truth_columns``, ``list_column``, ``in_ads_file``, ``positives`` and
    ``positive_rates``) and ``phone_linkage``: how many connected components the phone
    numbers alone make against the true vendors (shared booker numbers merge vendors; ads
    without a number and rotating numbers split them).

Modules: :mod:`.config` (config, presets), :mod:`.geography` (regions, cities, area codes),
:mod:`.vocabulary` (word pools), :mod:`.fields` and :mod:`.identifiers` (surface forms and
obfuscations with their canonical truth), :mod:`.vendors` (vendor populations and styles),
:mod:`.plan` (who posts what, where, when, with which numbers and images),
:mod:`.indicators` (per-ad indicator labels and the marks and cues that show them), :mod:`.text`,
:mod:`.images`, :mod:`.tables`, :mod:`.writer` and :mod:`.generator`.
"""

from .config import GENERATOR_VERSION, PRESETS, GeneratorConfig
from .generator import GeneratedDataset, ProgressCallback, generate

__all__ = [
    "GENERATOR_VERSION",
    "PRESETS",
    "GeneratedDataset",
    "GeneratorConfig",
    "ProgressCallback",
    "generate",
]
