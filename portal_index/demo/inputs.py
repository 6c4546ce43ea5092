"""The built-in demo: simulator-backed portals, a survey workbook and a (synthetic) PAPI file.

The survey workbook is written for the period being assessed, with the template's Vietnamese
headers, so that its test dates fall in that period; its content is a deterministic function of
the period and each portal's simulator profile. The PAPI file is synthetic demo data, not PAPI's
published scores.
"""

from __future__ import annotations

import random
import shutil
from datetime import date, timedelta
from pathlib import Path

from portal_index.config import Home
from portal_index.core.periods import period_bounds
from portal_index.core.periods import today as vietnam_today
from portal_index.core.provenance import DEMO_PAPI_FILE, DEMO_SURVEY_PREFIX
from portal_index.core.registry import active_portals
from portal_index.demo.simulator import TIERS, profile
from portal_index.land.snapshots import list_snapshots
from portal_index.parse.surveys import template, write_template

PAPI_DEMO = Path(__file__).parent / DEMO_PAPI_FILE


def survey_rows(portals: list[dict], period: str, quality, rng: random.Random) -> dict[str, list[dict]]:
    """{test type: rows} of plausible survey answers for `portals` in `period`; `quality(portal)`
    (0 to 1) sets the odds of a good answer. The demo and `portal-index synth` both fill the
    survey template with these."""
    start, end = period_bounds(period)
    end = min(end, vietnam_today())  # no test in the future: the loader refuses those
    rows: dict[str, list[dict]] = {name: [] for name in template()["sheets"]}
    for portal in portals:
        p = quality(portal)
        tests = (["service", "service"] if portal["kind"] == "service" else []) + [
            "satisfaction",
            "screen_reader",
            "ethnic_minority",
        ]
        # a test falls on a day the portal exists (a portal that ended or began within the period)
        first = max(start, date.fromisoformat(portal["valid_from"])) if portal.get("valid_from") else start
        last = min(end, date.fromisoformat(portal["valid_to"])) if portal.get("valid_to") else end
        for n, test in enumerate(tests):
            day = first + timedelta(days=rng.randrange(max(1, (last - first).days // 2)))
            yes = lambda odds: "có" if rng.random() < odds else "không"  # noqa: E731
            row = {
                "portal_id": portal["portal_id"],
                "test_date": day.strftime("%d/%m/%Y"),
                "evaluator": f"ĐGV-{rng.randint(1, 9):02d}-{n}",
            }
            if test == "service":
                row |= {
                    "service_name": "Cấp phiếu lý lịch tư pháp",
                    "completed_online": yes(p),
                    "original_papers_demanded": yes(1 - p),
                    "result_online": yes(p),
                    "payment_before_submission": yes(1 - p),
                    "steps": rng.randint(4, 12),
                    "minutes": rng.randint(8, 60),
                }
            elif test == "satisfaction":
                row["satisfaction"] = round(min(5.0, max(1.0, rng.gauss(1 + 4 * p, 0.6))), 1)
            elif test == "screen_reader":
                row["screen_reader_completed"] = yes(p)
            else:
                row["ethnic_language_content"] = yes(p - 0.3)
            rows[test].append(row)
    return rows


def write_demo_surveys(path: Path, period: str) -> int:
    """The survey template filled for every portal active in `period`, with plausible answers."""
    rows = survey_rows(
        active_portals(period), period, lambda p: TIERS[profile(p["portal_id"]).tier], random.Random(period)
    )
    write_template(path, rows)
    return sum(len(r) for r in rows.values())


def seed_surveys(home: Home, period: str, log=print) -> None:
    """Add the demo survey workbook for `period` when the surveys inbox is empty and no demo
    workbook for that period has landed yet (a workbook's bytes change with its save time)."""
    home.ensure()
    inbox = home.inbox("surveys")
    name = f"{DEMO_SURVEY_PREFIX}{period}.xlsx"
    if any(inbox.iterdir()) or any(s.original_name == name for s in list_snapshots(home.snapshots, "surveys")):
        return
    n = write_demo_surveys(inbox / name, period)
    log(f"demo: wrote {n} survey rows for {period} to {inbox}")


def seed_papi(home: Home, log=print) -> None:
    """Add the synthetic PAPI file when the PAPI inbox is empty (landing it twice is a no-op)."""
    home.ensure()
    inbox = home.inbox("papi")
    if not any(inbox.iterdir()):
        shutil.copyfile(PAPI_DEMO, inbox / PAPI_DEMO.name)
        log(f"demo: copied the synthetic PAPI file to {inbox}")
