"""Vantage points: every probe says where it was measured from; a portal that refuses foreign
addresses is up from inside Vietnam and refused from abroad, flagged as likely geo-blocked, and
scored on the scoring vantages only (docs/probes.md, "Vantage points")."""

import csv
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portal_index.demo.simulator import ABROAD_SOURCE, VIETNAM_SOURCE, Simulator, pick
from portal_index.fetch.netguard import Guard
from portal_index.fetch.prober import probe_all, probe_from_vantages


@pytest.fixture(scope="module")
def sim():
    with Simulator() as s:
        yield s


def test_a_geo_blocked_portal_answers_inside_vietnam_and_refuses_abroad(sim):
    blocked = pick(lambda p: p.geo_blocked and p.readable, 1)[0]
    open_ = pick(lambda p: not p.geo_blocked and p.readable, 1)[0]
    targets = {pid: sim.url_for(pid) for pid in (blocked, open_)}
    home = probe_all(targets, rounds=1, guard=sim.guard(), log=lambda m: None, vantage="vn-hanoi")
    away = probe_all(
        targets, rounds=1, guard=sim.guard(), log=lambda m: None, vantage="abroad", source_address=ABROAD_SOURCE
    )
    assert {r["vantage"] for r in home} == {"vn-hanoi"} and {r["vantage"] for r in away} == {"abroad"}
    by = lambda rows: {r["portal_id"]: r for r in rows}  # noqa: E731
    assert by(home)[blocked]["error"] is None and by(home)[blocked]["status"] == 200
    assert by(away)[blocked]["error"] == "http_403"  # the country block, measured as what it is
    assert by(away)[open_]["error"] is None  # the other portal answers abroad too


def test_the_vantages_of_one_step_probe_one_after_the_other():
    """Where one step probes from several vantages (the demo's two), it probes from one at a time, so
    that one vantage's probes are not measured into the other's timings: this server holds each
    request a moment and records how many vantages' addresses it has in flight at once."""
    lock, in_flight, seen, most = threading.Lock(), [], [], [0]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            with lock:
                seen.append(self.client_address[0])
                in_flight.append(self.client_address[0])
                most[0] = max(most[0], len(set(in_flight)))
            time.sleep(0.2)  # long enough that probes started together would overlap here
            with lock:
                in_flight.remove(self.client_address[0])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    with ThreadingHTTPServer((VIETNAM_SOURCE, 0), Handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            rows = probe_from_vantages(
                {f"p{i}": f"http://{VIETNAM_SOURCE}:{server.server_address[1]}/{i}" for i in range(3)},
                [("vn-hanoi", None), ("abroad", ABROAD_SOURCE)],
                rounds=1,
                guard=Guard.open(),  # a loopback server of the test's own
                log=lambda m: None,
            )
        finally:
            server.shutdown()
    assert sorted(set(seen)) == sorted({VIETNAM_SOURCE, ABROAD_SOURCE})  # each from its own address
    assert most[0] == 1  # never both vantages at once
    assert [(r["vantage"], r["status"]) for r in rows] == [("vn-hanoi", 200)] * 3 + [("abroad", 200)] * 3


@pytest.mark.slow
def test_the_release_publishes_each_vantage_and_scores_the_scoring_ones(demo_run):
    home, _ = demo_run
    folder = (home.releases / "latest").resolve()
    d = json.loads((folder / "datapackage.json").read_text())
    with open(folder / "data" / "probe_vantages.csv", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["period"] == d["period"]]
    assert {r["vantage"] for r in rows} == {"vn-hanoi", "abroad"}  # the demo probes from both
    assert {r["scoring"] for r in rows if r["vantage"] == "abroad"} == {"false"}
    flagged = {r["portal_id"] for r in rows if r["geo_block_suspected"] == "true"}
    active = {r["portal_id"] for r in rows}
    blocking = set(pick(lambda p: p.geo_blocked, 500)) & active
    answering = (
        set(  # country blocks on portals that answer every probe from inside Vietnam
            pick(
                lambda p: (
                    p.geo_blocked
                    and p.failure == "none"
                    and p.wall == "none"
                    and p.tls != "expired"
                    and p.tls not in ("wrong_host", "self_signed")
                ),
                500,
            )
        )
        & active
    )
    assert answering and answering <= flagged <= blocking  # the simulated country blocks, and no other
    assert all(r["vantage"] == "abroad" for r in rows if r["geo_block_suspected"] == "true")
    # the portal is scored on the vantage inside Vietnam: P01 is its availability from there
    with open(folder / "data" / "indicator_values.csv", encoding="utf-8", newline="") as f:
        p01 = {
            v["portal_id"]: v
            for v in csv.DictReader(f)
            if v["indicator_id"] == "P01"
            and v["period"] == d["period"]
            and v["methodology_version"] == d["methodology_version"]
        }
    inside = {r["portal_id"]: r for r in rows if r["vantage"] == "vn-hanoi"}
    for pid in flagged:
        assert float(p01[pid]["raw_value"]) == pytest.approx(float(inside[pid]["availability"]), abs=1e-4)
        assert float(p01[pid]["raw_value"]) >= 0.9
