"""What the warehouse already holds of this period's fetches, so that `portal-index run` does not
fetch again what a run earlier in the period fetched (docs/architecture.md, "The Dagster graph").

A portal is crawled and audited once per half-year and probed once per hour:
a second run in the same period crawling every portal again would cost the portals the same load
for the same measures. A fetch counts when its snapshot was accepted and was made the same way (by
the demo's simulator, or not): a live run is never skipped because the demo ran.
`portal-index run --refetch` fetches again regardless.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import duckdb

from portal_index.config import Home
from portal_index.core.periods import period_bounds, period_of, utc_offset_hours, vietnam_date
from portal_index.core.provenance import demo_snapshot_sql
from portal_index.core.registry import active_portals
from portal_index.land.warehouse import connect


def _same_making(demo: bool) -> str:
    return f"({demo_snapshot_sql()})" if demo else f"not ({demo_snapshot_sql()})"


def _period(now: datetime) -> tuple[str, datetime, datetime]:
    """The period `now` falls in and its first and last instant (UTC, the end excluded)."""
    period = period_of(vietnam_date(now))
    first, last = period_bounds(period)
    offset = timedelta(hours=utc_offset_hours())
    start = datetime.combine(first, time(), UTC) - offset
    return period, start, datetime.combine(last + timedelta(days=1), time(), UTC) - offset


def _query(home: Home, sql: str, params: list) -> list[tuple]:
    """Rows of a read-only query; none when the warehouse or its tables do not exist yet."""
    if not home.warehouse.exists():
        return []
    try:
        with connect(home.warehouse, read_only=True) as con:
            return con.execute(sql, params).fetchall()
    except duckdb.Error:  # no tables yet, or another process writing (a lock): fetch, to be safe
        return []


def crawl_done(home: Home, demo: bool, now: datetime | None = None) -> str | None:
    """Why the crawl need not run again: every portal active this period with a URL has an accepted
    crawl made this period; None when one has not."""
    period, start, end = _period(now or datetime.now(UTC))
    wanted = {p["portal_id"] for p in active_portals(period) if p["base_url"]}
    rows = _query(
        home,
        f"""select p.portal_id, max(p.fetched_at)
            from raw.crawl_pages as p join meta.snapshot_loads as s on s.sha256 = p.snapshot_sha256
            where s.status = 'accepted' and {_same_making(demo)} and p.fetched_at >= ? and p.fetched_at < ?
            group by 1""",
        [start, end],
    )
    if not wanted or not wanted <= {portal for portal, _ in rows}:
        return None
    latest = max(at for _, at in rows).astimezone(UTC)
    return f"all {len(wanted)} portals were crawled in {period} (the last at {latest:%Y-%m-%d %H:%M} UTC)"


def audit_done(home: Home, demo: bool, portals: list[str], now: datetime | None = None) -> str | None:
    """Why the browser audit need not run again: every one of `portals` (the ones the audit visits)
    was audited in an accepted snapshot of this period, landed after the latest crawl (the audit
    takes its key pages from the latest crawl); None otherwise."""
    period, start, end = _period(now or datetime.now(UTC))
    rows = _query(
        home,
        f"""with latest_crawl as (
                select max(landed_at) as landed from meta.snapshot_loads
                where source = 'crawl' and status = 'accepted' and {_same_making(demo)}
            )
            select a.portal_id, max(s.landed_at)
            from raw.a11y_audits as a join meta.snapshot_loads as s on s.sha256 = a.snapshot_sha256
            where s.status = 'accepted' and {_same_making(demo)} and s.landed_at >= ? and s.landed_at < ?
              and s.landed_at >= coalesce((select landed from latest_crawl), s.landed_at)
            group by 1""",
        [start, end],
    )
    if not portals or not set(portals) <= {portal for portal, _ in rows}:
        return None
    at = max(landed for _, landed in rows).astimezone(UTC)
    return (
        f"all {len(portals)} portals the audit visits were audited in {period} after their latest crawl "
        f"(the last at {at:%Y-%m-%d %H:%M} UTC)"
    )


def probes_done(home: Home, demo: bool, now: datetime | None = None) -> str | None:
    """Why the probes need not run again: a probe run of this hour's partition (the hour in Vietnam
    time, as the snapshot's origin names it) was accepted; None otherwise."""
    moment = (now or datetime.now(UTC)).astimezone(UTC) + timedelta(hours=utc_offset_hours())
    hour = f"{moment:%Y-%m-%d-%H}:00"
    rows = _query(
        home,
        f"""select count(*)
            from raw.probes as p join meta.snapshot_loads as s on s.sha256 = p.snapshot_sha256
            where s.status = 'accepted' and {_same_making(demo)} and s.origin like ?""",
        [f"% hour {hour} %"],
    )
    if not rows or not rows[0][0]:
        return None
    return f"the probes of hour {hour} (Vietnam time) were taken ({rows[0][0]} probes)"


def already_fetched(job: str, home: Home, demo: bool, audited: list[str]) -> str | None:
    """Why a fetch job of `portal-index run` need not run again, or None; `audited`: the portals the
    audit visits."""
    if job == "crawl_job":
        return crawl_done(home, demo)
    if job == "probe_job":
        return probes_done(home, demo)
    return audit_done(home, demo, audited)
