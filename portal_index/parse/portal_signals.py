"""Signals from a portal's WARC file, without network.

The loader of crawl snapshots and `portal-index extract` both run this, so a change to the keyword
seed (`signal_keywords.csv`) re-derives every signal from the archived pages. Each signal row has
its evidence: the URL of the page and the words on it that matched.

Rules (docs/methodology.md, the crawl-sourced indicators):
- keyword, regex and hreflang signals: found on any HTML page of the portal -> 1, else 0;
- accessibility checks and the mobile viewport (A01, A02): the home page;
- home_page_bytes (P04): the home page's size as received;
- sitemap (A07): a sitemap page by keywords, or an XML sitemap (`<urlset>`, `<sitemapindex>`) at a seed path;
- search (F04): the site's search form returned results for the seed's query;
- newest_item_age_days (F08): the newest dd/mm/yyyy date not after the crawl day;
- broken_link_share (P06): internal pages (depth >= 1) that failed or answered >= 400.
A portal whose home page could not be fetched has no signals: missing, not zero.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from portal_index.parse.page_signals import (
    ACCESSIBILITY_CHECKS,
    Keywords,
    PageFacts,
    PortalSignals,
    decode,
    load_keywords,
    looks_html,
    newest_age_days,
    page_facts,
    search_returned_results,
)
from portal_index.parse.warc import read

_SITEMAP_ROOTS = re.compile(rb"<(?:\w+:)?(?:urlset|sitemapindex)\b")
PAGE_COLUMNS = (
    "crawl_id",
    "portal_id",
    "role",
    "url",
    "final_url",
    "fetched_at",
    "status",
    "content_type",
    "bytes",
    "elapsed_ms",
    "depth",
    "error",
    "attempts",
)


class PortalExtractor:
    """Signals of one portal, fed fetch by fetch: live by the crawler (whose links come from the
    same parse), or replayed from a WARC file. Page bodies are not kept."""

    def __init__(self, kw: Keywords):
        self.kw = kw
        self.signals = PortalSignals(kw)
        self.metas: list[dict] = []
        self.dates: list[date] = []
        self.home: dict | None = None
        self.search: tuple[dict, bool] | None = None

    def add(self, meta: dict, body: bytes | None, content_type: str | None = None) -> PageFacts | None:
        """Take one fetch; returns the page's facts (links included) when it is an HTML page."""
        self.metas.append(meta)
        role, ok = meta.get("role"), meta.get("status") == 200 and body is not None
        content_type = content_type or meta.get("content_type")
        if role == "page" and meta.get("depth") == 0 and self.home is None:
            self.home = meta if ok else {}
        if not ok:
            if role == "search" and self.search is None:
                self.search = (meta, False)
            return None
        if role == "sitemap" and _SITEMAP_ROOTS.search(body[:2048]):  # not a soft 404 page
            self.signals.add_found("sitemap", meta["final_url"], f"{meta['url']} is an XML sitemap")
        if role == "search" and self.search is None:
            self.search = (meta, search_returned_results(decode(body, content_type), self.kw))
        if role != "page" or not looks_html(content_type, body):
            return None
        facts = page_facts(decode(body, content_type), meta["final_url"], self.kw)
        self.signals.add_page(facts)
        self.dates += facts.dates
        if meta is self.home:
            self.signals.set("home_page_bytes", float(len(body)), meta["final_url"], f"{len(body)} bytes")
            for check in ACCESSIBILITY_CHECKS:
                self.signals.set(
                    check, facts.checks[check], meta["final_url"], "passed" if facts.checks[check] else "failed"
                )
        return facts

    def page_rows(self, warc_file: str | None) -> list[dict]:
        return [
            {**{c: m.get(c) for c in PAGE_COLUMNS}, "redirects": len(m.get("redirects") or []), "warc_file": warc_file}
            for m in self.metas
        ]

    def signal_rows(self, crawled_at: str | None = None) -> list[dict]:
        home, kw = self.home, self.kw
        if not home:
            return []  # the home page failed: the portal's signals are missing, not zero
        if self.search:
            meta, found = self.search
            self.signals.set(
                "search",
                float(found),
                meta["url"],
                f"results for '{kw.search_query}'" if found else f"no results for '{kw.search_query}'",
            )
        else:
            self.signals.set("search", 0.0, None, "no search form found")
        age = newest_age_days(self.dates, date.fromisoformat(str(home["fetched_at"])[:10]))
        if age is not None:
            self.signals.set("newest_item_age_days", float(age), home["final_url"], f"newest item {age} days old")
        internal = [
            m
            for m in self.metas
            if m.get("role") == "page" and (m.get("depth") or 0) >= 1 and m.get("error") != "robots_disallowed"
        ]
        broken = [
            m for m in internal if (m.get("error") and m["error"] != "too_large") or (m.get("status") or 0) >= 400
        ]
        self.signals.set(
            "broken_link_share",
            len(broken) / len(internal) if internal else 0.0,
            broken[0]["url"] if broken else None,
            f"{len(broken)} of {len(internal)} internal links broken",
        )
        return self.signals.rows(
            {
                "crawl_id": home["crawl_id"],
                "portal_id": home["portal_id"],
                "crawled_at": crawled_at or home["fetched_at"],
            }
        )


def extract_warc(path: Path, kw: Keywords | None = None) -> dict[str, list[dict]]:
    """crawl_pages and crawl_signals rows of one portal WARC (no network)."""
    archive = read(path)
    kw = kw or load_keywords()
    extractor = PortalExtractor(kw)
    for f in archive.fetches:
        extractor.add(f.meta, f.body, f.content_type)
    signals = [{**r, "keywords_version": kw.version} for r in extractor.signal_rows(archive.info.get("started"))]
    return {"crawl_pages": extractor.page_rows(archive.summary.get("warc")), "crawl_signals": signals}
