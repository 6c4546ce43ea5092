"""The accessibility audit in Debian's headless Chromium finds exactly the faults the simulator serves."""

import pytest

from portal_index.demo.simulator import A11Y_CASES, A11Y_EXPECTED, Simulator
from portal_index.fetch.browser import audit, find_chromium
from portal_index.fetch.netguard import Guard

pytestmark = [
    pytest.mark.slow,  # a real browser, with a page that runs into its time limit
    pytest.mark.skipif(find_chromium() is None, reason="no Chromium here (.ci/run installs Debian's chromium)"),
]


def test_the_audit_finds_exactly_the_known_violations_and_none_on_the_clean_page():
    with Simulator() as sim:
        guard = Guard(allow=("127.0.0.1/32",), allow_ports=(sim.port,))
        found = audit(
            [(case, sim.a11y_url(case)) for case in A11Y_CASES]
            + [("slow", sim.hostile_url("slow-drip")), ("lan", "http://10.255.255.1/")],
            page_seconds=12,  # 4 s ran out on a loaded 2-core machine, through the proxy or not
            concurrency=3,
            guard=guard,
            log=lambda m: None,
        )
    pages = {r["portal_id"]: r for r in found["a11y_audits"]}
    for case, expected in A11Y_EXPECTED.items():
        rules = {v["rule_id"] for v in found["a11y_violations"] if v["portal_id"] == case}
        assert rules == expected, case
        assert "error" not in pages[case], pages[case]
        assert pages[case]["rules_violated"] == len(expected) and pages[case]["rules_passed"] > 0
        assert pages[case]["lcp_ms"] is not None and pages[case]["cls"] == 0
    impacts = {v["rule_id"]: (v["impact"], v["nodes"]) for v in found["a11y_violations"]}
    assert impacts["image-alt"] == ("critical", 1) and impacts["color-contrast"] == ("serious", 1)
    assert pages["slow"]["error"] == "time_limit"  # a page that never finishes loading: the hard limit holds
    # the guard's proxy refused it (no connection was tried) and the row says so
    assert pages["lan"]["error"] == "blocked_address: 10.255.255.1 is private (resolved from 10.255.255.1)"
    assert "status" not in pages["lan"]
