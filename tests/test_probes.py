"""The prober over real HTTP against the local portal simulator."""

import pytest

from portal_index.prober import probe, probe_all
from portal_index.simulator import Simulator, pick, profile

@pytest.fixture(scope="module")
def sim():
    with Simulator() as s:
        yield s


def test_probe_measures_the_injected_delay(sim):
    slow = pick(lambda p: p.ttfb_ms >= 600 and p.failure == "none", 1)[0]
    fast = pick(lambda p: p.ttfb_ms <= 5 and p.failure == "none", 1)[0]
    rows = probe_all({slow: sim.url_for(slow), fast: sim.url_for(fast)}, rounds=2, log=lambda m: None)
    by = {pid: [r for r in rows if r["portal_id"] == pid] for pid in (slow, fast)}
    delay = profile(slow).ttfb_ms
    for r in by[slow]:
        assert delay <= r["ttfb_ms"] <= delay + 250 and r["total_ms"] >= r["ttfb_ms"] and r["status"] == 200
    assert all(r["ttfb_ms"] < 250 for r in by[fast])
    assert all(r["http_version"] == "HTTP/1.1" and r["bytes"] > 0 for r in rows)


def test_probe_errors_are_data():
    assert probe("x", "http://127.0.0.1:9/")["error"] == "connection_refused"
