"""The vocabulary of "not measurable": the seed status_reasons names every error class the fetchers
record, every published reason has its own row, and the marts document exactly those reasons."""

import csv
import inspect
import re

import yaml

from portal_index.config import DBT_PROJECT_DIR
from portal_index.fetch import browser, crawler, netguard
from portal_index.parse import warc
from portal_index.release.report import _reason, _reason_labels

SEED = DBT_PROJECT_DIR / "seeds" / "methodology" / "status_reasons.csv"
MARTS = DBT_PROJECT_DIR / "models" / "marts"
SOURCE_LEVEL = {"not_crawled", "not_probed", "no_test", "no_papi", "no_data"}


def seed() -> dict[str, dict]:
    with open(SEED, encoding="utf-8", newline="") as f:
        return {r["error_class"]: r for r in csv.DictReader(f)}


def recorded_error_classes() -> set[str]:
    """The error classes written in the fetchers' and the WARC reader's code."""
    classify = inspect.getsource(netguard.classify) + inspect.getsource(netguard.tls_error_class)
    found = set(re.findall(r'return (?:.* or )?"([a-z_]+)"', classify))
    for module in (crawler, warc, browser):
        text = inspect.getsource(module)
        found |= set(re.findall(r'error(?:"\])?\s*=\s*"([a-z_]+)"', text))
        found |= set(re.findall(r'"error":\s*"([a-z_]+)"', text))
    return found | set(warc._TRUNCATED.values())


def test_every_error_class_the_fetchers_record_has_a_row():
    classes = recorded_error_classes()
    # the classes the brief of the seed names, so that a change of the scraping above is noticed
    assert {
        "timeout",
        "slow_response",
        "dns_failure",
        "connection_refused",
        "connect_error",
        "protocol_error",
        "blocked_address",
        "tls_expired",
        "tls_hostname_mismatch",
        "tls_untrusted",
        "tls_failure",
        "bad_encoding",
        "robots_disallowed",
        "too_large",
        "redirect_loop",
        "too_many_redirects",
        "time_limit",
    } <= classes
    assert classes - set(seed()) == set()


def test_every_reason_has_its_own_row_and_the_default_rows_exist():
    rows = seed()
    reasons = {r["status_reason"] for r in rows.values()}
    assert all(rows[reason]["status_reason"] == reason for reason in reasons)
    assert SOURCE_LEVEL | {"http_error", "other", "blocked", "unreachable"} <= set(rows)
    assert rows["other"]["status_reason"] == "unreachable"  # the documented default
    assert all(r["name_vi"].strip() and r["name_en"].strip() for r in rows.values())


def test_the_marts_document_exactly_the_seed_reasons():
    reasons = {r["status_reason"] for r in seed().values()}
    for table in ("indicator_values", "portal_scores"):
        doc = yaml.safe_load((MARTS / f"{table}.yml").read_text(encoding="utf-8"))["models"][0]
        column = next(c for c in doc["columns"] if c["name"] == "status_reason")
        assert set(column["config"]["meta"]["enum"]) == reasons, table
        assert column["description"] and column["config"]["meta"]["vi"] and column["config"]["meta"]["title"]


def test_the_report_labels_a_reason_in_both_languages():
    labels = _reason_labels()
    assert set(labels) == {r["status_reason"] for r in seed().values()}
    shown = _reason("unreachable", labels)
    assert 'data-reason="unreachable"' in shown and labels["unreachable"][0] in shown and "Portal unreachable" in shown
    assert _reason(None, labels) == ""
