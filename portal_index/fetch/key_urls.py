"""A portal's key URLs for probes and audits: its home page, and from its latest crawl the page its
own search form returned. Paths are kept relative to the home page, so they follow the portal
wherever it is served (the demo's simulator listens on a new port every run)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin

import duckdb

KEY_SIGNALS = {"search": "search"}  # url kind -> crawl signal whose evidence URL is that page

_LATEST = """
with latest as (
    select portal_id, max(crawl_id) as crawl_id from raw.crawl_signals group by 1
),
home as (
    select crawl_id, portal_id, min(url) filter (where role = 'page' and depth = 0) as base_url
    from raw.crawl_pages group by all
)
select s.portal_id, s.signal_id, s.evidence_url, h.base_url
from raw.crawl_signals as s
join latest using (portal_id, crawl_id)
join home as h using (portal_id, crawl_id)
where s.signal_id in ({signals}) and s.value = 1 and s.evidence_url is not null
"""


def key_paths(warehouse: Path) -> dict[str, dict[str, str]]:
    """{portal_id: {url kind: path relative to the home page}}; empty before the first crawl."""
    if not warehouse.exists():
        return {}
    kinds = {signal: kind for kind, signal in KEY_SIGNALS.items()}
    sql = _LATEST.format(signals=", ".join(f"'{s}'" for s in kinds))
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows = con.execute(sql).fetchall()
    except (duckdb.CatalogException, duckdb.IOException):  # no crawl tables yet, or the file is busy
        return {}
    out: dict[str, dict[str, str]] = {}
    for portal_id, signal, url, base in rows:
        if base and url.startswith(base) and url != base:
            out.setdefault(portal_id, {})[kinds[signal]] = url[len(base) :]
    return out


def key_urls(targets: dict[str, str], paths: dict[str, dict[str, str]]) -> list[tuple[str, str, str]]:
    """[(portal_id, url kind, URL)]: every portal's home page, then its other known key pages."""
    out = []
    for portal_id, base in sorted(targets.items()):
        out.append((portal_id, "home", base))
        out += [(portal_id, kind, urljoin(base, path)) for kind, path in sorted(paths.get(portal_id, {}).items())]
    return out
