"""`portal-index run` skips a fetch the warehouse already holds for this period (this hour), and
only one made the same way: checked on a real warehouse file."""

from datetime import UTC, datetime, timedelta

import pytest

from portal_index.config import Home
from portal_index.core.periods import period_of, vietnam_date
from portal_index.core.registry import active_portals
from portal_index.land.fetched import audit_done, crawl_done, probes_done
from portal_index.land.warehouse import connect

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
DEMO = "portal-index 0.1.0 crawl (demo) run 1"
LIVE = "portal-index 0.1.0 crawl run 1"


@pytest.fixture()
def home(tmp_path):
    home = Home(tmp_path)
    connect(home.warehouse).close()  # the raw and meta tables, empty
    return home


def wanted() -> list[str]:
    return sorted(p["portal_id"] for p in active_portals(period_of(vietnam_date(NOW))) if p["base_url"])


def land(home: Home, sha: str, source: str, origin: str, at: datetime, status: str = "accepted") -> None:
    with connect(home.warehouse) as con:
        con.execute(
            "insert into meta.snapshot_loads (sha256, source, original_name, origin, landed_at, loaded_at, status) "
            "values (?, ?, ?, ?, ?, ?, ?)",
            [sha, source, f"{sha}.bin", origin, at, at, status],
        )


def crawl(home: Home, sha: str, portals: list[str], at: datetime, origin: str = DEMO, status: str = "accepted"):
    land(home, sha, "crawl", origin, at, status)
    with connect(home.warehouse) as con:
        con.executemany(
            "insert into raw.crawl_pages (snapshot_sha256, portal_id, url, fetched_at) values (?, ?, ?, ?)",
            [[sha, p, f"https://{p}.example/", at] for p in portals],
        )


def test_nothing_is_done_in_an_empty_or_missing_warehouse(home, tmp_path):
    for home_ in (home, Home(tmp_path / "none")):
        assert crawl_done(home_, demo=True, now=NOW) is None
        assert audit_done(home_, demo=True, portals=wanted()[:12], now=NOW) is None
        assert probes_done(home_, demo=True, now=NOW) is None


def test_the_crawl_is_done_when_every_portal_was_crawled_this_period_the_same_way(home):
    portals = wanted()
    crawl(home, "a", portals[:-1], NOW - timedelta(days=3))
    assert crawl_done(home, demo=True, now=NOW) is None  # one portal missing
    crawl(home, "b", portals[-1:], NOW - timedelta(days=400))  # last period's crawl does not count
    assert crawl_done(home, demo=True, now=NOW) is None
    crawl(home, "c", portals[-1:], NOW - timedelta(hours=1), status="rejected")  # nor a rejected one
    assert crawl_done(home, demo=True, now=NOW) is None
    crawl(home, "d", portals[-1:], NOW - timedelta(hours=1))
    done = crawl_done(home, demo=True, now=NOW)
    assert done and f"all {len(portals)} portals were crawled in 2026-H2" in done
    assert crawl_done(home, demo=False, now=NOW) is None  # the demo's crawl is not the real portals'
    assert crawl_done(home, demo=True, now=datetime(2027, 1, 2, tzinfo=UTC)) is None  # a new period


def audit(
    home: Home, sha: str, portals: list[str], at: datetime, origin: str = "portal-index 0.1.0 audits (demo) run 2"
):
    land(home, sha, "audits", origin, at)
    with connect(home.warehouse) as con:
        con.executemany(
            "insert into raw.a11y_audits (snapshot_sha256, portal_id, url, audited_at) values (?, ?, ?, ?)",
            [[sha, p, f"https://{p}.example/", at] for p in portals],
        )


def test_the_audit_is_done_when_every_audited_portal_was_audited_this_period_after_the_latest_crawl(home):
    audited = wanted()[:12]
    crawl(home, "crawl1", wanted(), NOW - timedelta(days=2))
    assert audit_done(home, demo=True, portals=audited, now=NOW) is None
    audit(home, "audit1", audited[:6], NOW - timedelta(days=1))  # one shard of two landed
    assert audit_done(home, demo=True, portals=audited, now=NOW) is None
    audit(home, "audit2", audited[6:], NOW - timedelta(days=1))
    assert "all 12 portals the audit visits were audited in 2026-H2" in audit_done(home, True, audited, now=NOW)
    assert audit_done(home, demo=False, portals=audited, now=NOW) is None
    crawl(home, "crawl2", wanted(), NOW - timedelta(hours=2))  # crawled again: its key pages may differ
    assert audit_done(home, demo=True, portals=audited, now=NOW) is None


def probes(home: Home, sha: str, hour: str, at: datetime) -> None:
    land(home, sha, "probes", f"portal-index 0.1.0 probes (demo) hour {hour} run 3", at)
    with connect(home.warehouse) as con:
        con.execute(
            "insert into raw.probes (snapshot_sha256, portal_id, url, probed_at) values (?, 'x', 'u', ?)", [sha, at]
        )


def test_the_probes_are_done_when_this_hours_partition_was_accepted(home):
    # NOW is 09:30 UTC, 16:30 in Vietnam: the partition is 2026-11-27-16:00
    probes(home, "p1", "2026-11-27-15:00", NOW - timedelta(minutes=29))  # the hour before, ending after 16:00
    assert probes_done(home, demo=True, now=NOW) is None
    probes(home, "p2", "2026-11-27-16:00", NOW)
    assert (
        probes_done(home, demo=True, now=NOW)
        == "the probes of hour 2026-11-27-16:00 (Vietnam time) were taken (1 probes)"
    )
    assert probes_done(home, demo=False, now=NOW) is None
    assert probes_done(home, demo=True, now=NOW + timedelta(hours=1)) is None
