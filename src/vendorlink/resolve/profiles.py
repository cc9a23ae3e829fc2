"""Cluster profiles: what each vendor cluster looks like (Nagpal et al. §5, Table 3 inputs).

One row per cluster of ``resolve_clusters``, computed in DuckDB SQL:

- ``n_ads``; ``n_cities``, ``n_regions`` (spread) and the ``cities`` / ``regions`` lists;
- ``first_posted``, ``last_posted``; ``span_days``, ``span_weeks``, ``span_months``;
  ``ads_per_week_mean`` / ``ads_per_week_std`` and ``ads_per_month_mean`` /
  ``ads_per_month_std``: ads posted in each week (month) from the first to the last one,
  empty weeks counted as zero;
- ``n_phones``, ``n_emails``, ``n_names``: distinct extracted values;
- ``n_images`` (image slots over the cluster's ads), ``n_unique_images`` (distinct
  pHashes), ``image_reuse_ratio`` = 1 - unique / images, ``max_image_reuse`` (most ads of
  the cluster sharing one pHash), ``n_images_shared_outside`` (distinct pHashes also in
  another cluster's ads).

:data:`PROFILE_FEATURES` are the numeric columns a cluster classifier and the rule learner
use.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from vendorlink.errors import StageOrderError

PROFILE_FEATURES = (
    "n_ads", "n_cities", "n_regions", "span_days", "span_weeks", "span_months",
    "ads_per_week_mean", "ads_per_week_std", "ads_per_month_mean", "ads_per_month_std",
    "n_phones", "n_emails", "n_names", "n_images", "n_unique_images", "image_reuse_ratio",
    "max_image_reuse", "n_images_shared_outside",
)  # fmt: skip

PROFILES_SQL = """
WITH c AS (SELECT ad_id, cluster FROM resolve_clusters),
a AS (
    SELECT c.cluster, a.ad_id, a.city, a.region, CAST(a.posted_at AS DATE) AS day,
           f.phones, f.emails, f.names
    FROM c JOIN ads a USING (ad_id) LEFT JOIN fields f USING (ad_id)
),
base AS (
    SELECT cluster, count(*) AS n_ads,
           count(DISTINCT city) AS n_cities, count(DISTINCT region) AS n_regions,
           list_sort(list_distinct(list(city))) AS cities,
           list_sort(list_distinct(list(region))) AS regions,
           min(day) AS first_posted, max(day) AS last_posted,
           coalesce(len(list_distinct(flatten(list(phones)))), 0) AS n_phones,
           coalesce(len(list_distinct(flatten(list(emails)))), 0) AS n_emails,
           coalesce(len(list_distinct(flatten(list(names)))), 0) AS n_names
    FROM a GROUP BY cluster
),
weekly AS (
    SELECT cluster, date_trunc('week', day) AS wk, count(*) AS n FROM a
    WHERE day IS NOT NULL GROUP BY ALL
),
monthly AS (
    SELECT cluster, date_trunc('month', day) AS mo, count(*) AS n FROM a
    WHERE day IS NOT NULL GROUP BY ALL
),
wk AS (
    SELECT cluster, sum(n) AS n, count(*) AS n_weeks_posted,
           date_diff('week', min(wk), max(wk)) + 1 AS n_weeks,
           sum(n * n) AS n2 FROM weekly GROUP BY cluster
),
mo AS (
    SELECT cluster, sum(n) AS n, date_diff('month', min(mo), max(mo)) + 1 AS n_months,
           sum(n * n) AS n2 FROM monthly GROUP BY cluster
),
img AS (
    SELECT a.cluster, a.ad_id, x.phash
    FROM a JOIN images i USING (ad_id) JOIN image_fields x USING (image_id)
    WHERE x.phash IS NOT NULL
),
hash_clusters AS (SELECT phash, count(DISTINCT cluster) AS n_clusters FROM img GROUP BY phash),
per_hash AS (
    SELECT cluster, phash, count(DISTINCT ad_id) AS n_ads FROM img GROUP BY cluster, phash
),
imgs AS (
    SELECT p.cluster, sum(p.n_ads) AS n_images, count(*) AS n_unique_images,
           max(p.n_ads) AS max_image_reuse,
           count(*) FILTER (WHERE h.n_clusters > 1) AS n_images_shared_outside
    FROM per_hash p JOIN hash_clusters h USING (phash) GROUP BY p.cluster
)
SELECT b.cluster, b.n_ads, b.n_cities, b.n_regions, b.cities, b.regions,
       b.first_posted, b.last_posted,
       coalesce(date_diff('day', b.first_posted, b.last_posted), 0) AS span_days,
       coalesce(wk.n_weeks, 0) AS span_weeks, coalesce(mo.n_months, 0) AS span_months,
       coalesce(wk.n / wk.n_weeks, 0) AS ads_per_week_mean,
       coalesce(sqrt(greatest(wk.n2 / wk.n_weeks - (wk.n / wk.n_weeks) ^ 2, 0)), 0)
           AS ads_per_week_std,
       coalesce(mo.n / mo.n_months, 0) AS ads_per_month_mean,
       coalesce(sqrt(greatest(mo.n2 / mo.n_months - (mo.n / mo.n_months) ^ 2, 0)), 0)
           AS ads_per_month_std,
       b.n_phones, b.n_emails, b.n_names,
       coalesce(i.n_images, 0) AS n_images, coalesce(i.n_unique_images, 0) AS n_unique_images,
       CASE WHEN coalesce(i.n_images, 0) > 0 THEN 1 - i.n_unique_images / i.n_images ELSE 0 END
           AS image_reuse_ratio,
       coalesce(i.max_image_reuse, 0) AS max_image_reuse,
       coalesce(i.n_images_shared_outside, 0) AS n_images_shared_outside
FROM base b LEFT JOIN wk USING (cluster) LEFT JOIN mo USING (cluster)
LEFT JOIN imgs i USING (cluster)
ORDER BY b.n_ads DESC, b.cluster
"""


def cluster_profiles(con: Any, min_size: int = 1) -> pd.DataFrame:
    """Profiles of the clusters in ``resolve_clusters`` with at least ``min_size`` ads."""
    n = con.execute("SELECT count(*) FROM resolve_clusters").fetchone()[0]
    if not n:
        raise StageOrderError("no resolve clusters in this workspace; run `vendorlink resolve`")
    frame = con.execute(PROFILES_SQL).df()
    frame = frame[frame["n_ads"] >= min_size].reset_index(drop=True)
    for col in PROFILE_FEATURES:
        frame[col] = frame[col].astype(float)
    return frame
