"""A first, polite crawler: breadth-first within each portal, robots.txt obeyed, bounded.

Stays inside the portal's base URL (its host and path prefix), caps pages, depth, bytes per
response and time per portal, retries 5xx and timeouts once, and names the project in its
user-agent. Each page is a `crawl_pages` row; signals are combined per portal into
`crawl_signals` rows with evidence.
"""

from __future__ import annotations

import time
import urllib.robotparser
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timezone
from urllib.parse import urldefrag, urlsplit

import httpx

from portal_index import __version__
from portal_index.signals import (
    HOME_ONLY, Keywords, PortalSignals, decode, load_keywords, newest_age_days, page_facts,
    search_returned_results,
)

USER_AGENT = f"portal-index/{__version__} (+https://github.com/portal-index/portal-index; open data research crawler)"


@dataclass(frozen=True)
class CrawlLimits:
    max_pages: int = 40
    max_depth: int = 3
    max_bytes: int = 8_000_000
    portal_seconds: float = 60.0
    timeout_seconds: float = 15.0
    delay_seconds: float = 1.0  # between requests to one portal
    workers: int = 8


def _in_scope(url: str, base: str) -> bool:
    u, b = urlsplit(url), urlsplit(base)
    return u.scheme in ("http", "https") and u.netloc == b.netloc and u.path.startswith(b.path)


class _Fetcher:
    def __init__(self, client: httpx.Client, limits: CrawlLimits):
        self.client, self.limits = client, limits

    def get(self, url: str) -> tuple[int | None, str | None, bytes, str | None, str, float]:
        """(status, content type, body, error, final url, elapsed ms); one retry on 5xx/timeouts."""
        for attempt in range(2):
            start = time.perf_counter()
            try:
                with self.client.stream("GET", url) as r:
                    body = bytearray()
                    for chunk in r.iter_bytes():
                        body += chunk
                        if len(body) > self.limits.max_bytes:
                            return (r.status_code, r.headers.get("content-type"), bytes(body),
                                    "too_large", str(r.url), (time.perf_counter() - start) * 1000)
                    elapsed = (time.perf_counter() - start) * 1000
                    if r.status_code >= 500 and attempt == 0:
                        time.sleep(0.2)
                        continue
                    return r.status_code, r.headers.get("content-type"), bytes(body), None, str(r.url), elapsed
            except httpx.TimeoutException:
                error = "timeout"
            except httpx.HTTPError as e:
                error = type(e).__name__
            if attempt == 0:
                time.sleep(0.2)
        return None, None, b"", error, url, (time.perf_counter() - start) * 1000


def _robots(fetcher: _Fetcher, base_url: str) -> urllib.robotparser.RobotFileParser:
    parts = urlsplit(base_url)
    rp = urllib.robotparser.RobotFileParser()
    status, _, body, _, _, _ = fetcher.get(f"{parts.scheme}://{parts.netloc}/robots.txt")
    if status == 200:
        rp.parse(body.decode("utf-8", errors="replace").splitlines())
    else:
        rp.parse([])  # no robots.txt: everything allowed
    return rp


def crawl_portal(portal_id: str, base_url: str, client: httpx.Client, limits: CrawlLimits,
                 kw: Keywords, crawl_id: str, today: date) -> tuple[list[dict], list[dict]]:
    fetcher = _Fetcher(client, limits)
    robots = _robots(fetcher, base_url)
    started = time.monotonic()
    crawled_at = datetime.now(timezone.utc)
    pages: list[dict] = []
    signals = PortalSignals(kw)
    dates = []
    search_form = None
    home_ok = False
    queue, seen = deque([(base_url, 0)]), {base_url}
    while queue and len(pages) < limits.max_pages and time.monotonic() - started < limits.portal_seconds:
        url, depth = queue.popleft()
        row = {"crawl_id": crawl_id, "portal_id": portal_id, "url": url, "depth": depth,
               "fetched_at": datetime.now(timezone.utc).isoformat()}
        if not robots.can_fetch(USER_AGENT, url):
            pages.append({**row, "error": "robots_disallowed"})
            continue
        if pages and limits.delay_seconds:
            time.sleep(limits.delay_seconds)
        status, ctype, body, error, final_url, elapsed = fetcher.get(url)
        pages.append({**row, "final_url": final_url, "status": status, "content_type": ctype,
                      "bytes": len(body), "elapsed_ms": round(elapsed, 1), "error": error})
        if status != 200 or "html" not in (ctype or "html"):
            continue
        facts = page_facts(decode(body, ctype), final_url, kw)
        signals.add_page(facts)
        dates += facts.dates
        if depth == 0:
            home_ok = True
            signals.set("home_page_bytes", float(len(body)), final_url)
            for check in HOME_ONLY:
                signals.set(check, facts.checks[check], final_url)
        search_form = search_form or facts.search_form
        if depth < limits.max_depth:
            for link in facts.links:
                link = urldefrag(link)[0]
                if link not in seen and _in_scope(link, base_url):
                    seen.add(link)
                    queue.append((link, depth + 1))
    if not home_ok:
        return pages, []  # nothing can be said about the portal: its signals are missing, not zero
    for path in kw.paths.get("sitemap", ()):
        status, *_ = fetcher.get(base_url + path)
        if status == 200:
            signals.add_found("sitemap", base_url + path, path)
    search_ok = 0.0
    if search_form:
        action, name = search_form
        status, ctype, body, *_ = fetcher.get(str(httpx.URL(action, params={name: kw.search_query})))
        if status == 200 and search_returned_results(decode(body, ctype), kw):
            search_ok = 1.0
    signals.set("search", search_ok, search_form[0] if search_form else None,
                f"{search_form[1]}={kw.search_query}" if search_form else None)
    age = newest_age_days(dates, today)
    if age is not None:
        signals.set("newest_item_age_days", float(age), base_url, f"newest item {age} days old")
    internal = [p for p in pages[1:] if p.get("error") != "robots_disallowed"]
    broken = [p for p in internal if p.get("error") or (p.get("status") or 0) >= 400]
    signals.set("broken_link_share", len(broken) / len(internal) if internal else 0.0,
                broken[0]["url"] if broken else None, f"{len(broken)} of {len(internal)} internal links broken")
    return pages, signals.rows({"crawl_id": crawl_id, "portal_id": portal_id, "crawled_at": crawled_at.isoformat()})


def crawl(portals: dict[str, str], limits: CrawlLimits = CrawlLimits(), today: date | None = None,
          log=print) -> tuple[list[dict], list[dict]]:
    """Crawl {portal_id: base_url}; returns (pages, signals) rows for all portals."""
    kw = load_keywords()
    today = today or date.today()
    crawl_id = "crawl-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    pages: list[dict] = []
    signals: list[dict] = []
    with httpx.Client(headers={"User-Agent": USER_AGENT}, timeout=limits.timeout_seconds,
                      follow_redirects=True, limits=httpx.Limits(max_connections=limits.workers * 2)) as client:
        with ThreadPoolExecutor(max_workers=limits.workers) as pool:
            futures = {pid: pool.submit(crawl_portal, pid, url, client, limits, kw, crawl_id, today)
                       for pid, url in sorted(portals.items())}
            for pid, fut in futures.items():
                p, s = fut.result()
                pages += p
                signals += s
                errors = sum(1 for r in p if r.get("error") or (r.get("status") or 0) >= 400)
                log(f"crawled {pid}: {len(p)} pages, {errors} errors, {'signals' if s else 'NO SIGNALS'}")
    return pages, signals
