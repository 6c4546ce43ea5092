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

A WARC file of ours is replayed fetch by fetch from its metadata records. Another tool's WARC file
(wget, Browsertrix, Heritrix, pywb) has no such records: its portals are recognised by host
(`PortalMatcher`), its response records become fetches shaped as ours (`fetch_meta`; the base
URL's, else the portal's first page, is the home page at depth 0, the others depth 1), and the same
extractor reads them. docs/inputs.md states the rules.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from portal_index.core.periods import valid_between
from portal_index.core.problems import NOTES
from portal_index.core.registry import portals as registry_portals
from portal_index.core.text import fold
from portal_index.parse.app_shell import needs_render
from portal_index.parse.bot_walls import wall_of
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
from portal_index.parse.warc import (
    COMPLETE,
    OwnCrawl,
    Payloads,
    WarcError,
    WarcScan,
    WebFetch,
    scan,
    truncation_error,
)

log = logging.getLogger(__name__)

NOT_CONTENT = ("blocked", "render_failed", "blocked_address")  # a wall, an unrendered shell, a forbidden navigation
_SHELL_BYTES = 512 * 1024  # an app shell is small; larger pages are read as served without a second parse


def app_shell(body: bytes, content_type: str | None) -> str | None:
    """Why a page's HTML does not hold its content (an app shell scripts fill), or None. A cheap
    first look (small HTML with a script) spares most pages a second parse."""
    if len(body) > _SHELL_BYTES or b"<script" not in body[:_SHELL_BYTES].lower() or not looks_html(content_type, body):
        return None
    return needs_render(decode(body, content_type))


def _html(body: bytes, content_type: str | None, rendered: bytes | None) -> str:
    """The page as read: its rendered DOM (UTF-8, as the crawler archives it), else the HTML as served."""
    return rendered.decode("utf-8", errors="replace") if rendered is not None else decode(body, content_type)


UNVISITED = ("robots_disallowed", "blocked", "render_failed")  # not followed, a wall, no browser: not broken

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
    "read_as",
    "tls_fault",
    "detail",
)


class PortalExtractor:
    """Signals of one portal, fed fetch by fetch: live by the crawler (whose links come from the
    same parse), or replayed from a WARC file. Page bodies are not kept."""

    def __init__(self, kw: Keywords, search_probed: bool = True):
        self.kw = kw
        self.signals = PortalSignals(kw)
        self.metas: list[dict] = []
        self.dates: list[date] = []
        self.home: dict | None = None
        self.search: tuple[dict, bool] | None = None
        # our crawler submits a search form it finds; another tool's crawl may not have: then the
        # search signal of a portal with a form is missing, not zero
        self.search_probed = search_probed
        self.search_form = False
        self.unreadable: set[str] = set()  # roles of fetches a wall or an unrendered shell kept from us

    def add(
        self, meta: dict, body: bytes | None, content_type: str | None = None, rendered: bytes | None = None
    ) -> PageFacts | None:
        """Take one fetch; returns the page's facts (links included) when it is an HTML page. A page
        rendered in a browser is read from its `rendered` DOM instead of the HTML as served."""
        self.metas.append(meta)
        live = meta.get("checked_live")  # our crawler checked walls and app shells as it fetched
        if meta.get("error") is None and body is not None and not live:
            wall = wall_of(meta.get("status"), meta.get("headers"), body)  # another tool's: ours were checked live
            if wall is not None:
                meta["error"], meta["detail"] = "blocked", wall.reason()
        role = meta.get("role")
        content_type = content_type or meta.get("content_type")
        readable = role in ("page", "search") and meta.get("status") == 200 and body
        if rendered is None and readable and meta.get("error") is None and not live:
            shell = app_shell(body, content_type)  # an app shell archived without its rendered DOM
            if shell is not None:
                meta["error"], meta["detail"] = "render_failed", f"{shell}; no rendered DOM in the archive"
        ok = meta.get("status") == 200 and body is not None and meta.get("error") not in NOT_CONTENT
        if role == "page" and meta.get("depth") == 0 and self.home is None:
            self.home = meta if ok else {}
        if not ok:
            if meta.get("error") in NOT_CONTENT:  # a wall or an unrendered shell: unknown, not absent
                self.unreadable.add(role)
            elif role == "search" and self.search is None:
                self.search = (meta, False)
            return None
        if role == "sitemap" and _SITEMAP_ROOTS.search(body[:2048]):  # not a soft 404 page
            self.signals.add_found("sitemap", meta["final_url"], f"{meta['url']} is an XML sitemap")
        if role == "search" and self.search is None:
            self.search = (meta, search_returned_results(_html(body, content_type, rendered), self.kw))
        if role != "page" or not looks_html(content_type, body):
            return None
        url = meta.get("rendered_url") or meta["final_url"] if rendered is not None else meta["final_url"]
        # signals the portal already has keep their first page's evidence: not looked for again
        facts = page_facts(_html(body, content_type, rendered), url, self.kw, known=self.signals.values.keys())
        facts.read_as = meta["read_as"] = "rendered" if rendered is not None else "static"
        self.signals.add_page(facts)
        self.search_form = self.search_form or facts.search_form is not None
        self.dates += facts.dates
        if meta is self.home:
            # P04 is the HTML as received, rendered or not
            self.signals.set("home_page_bytes", float(len(body)), meta["final_url"], f"{len(body)} bytes", "static")
            for check in ACCESSIBILITY_CHECKS:
                self.signals.set(
                    check,
                    facts.checks[check],
                    meta["final_url"],
                    "passed" if facts.checks[check] else "failed",
                    facts.read_as,
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
                meta.get("read_as") or "static",
            )
        elif "search" in self.unreadable:
            self.signals.unknown.add("search")  # the form was submitted; its answer could not be read
        elif self.search_probed or not self.search_form:
            self.signals.set("search", 0.0, None, "no search form found")
        if "sitemap" in self.unreadable and "sitemap" not in self.signals.values:
            self.signals.unknown.add("sitemap")
        age = newest_age_days(self.dates, date.fromisoformat(str(home["fetched_at"])[:10]))
        if age is not None:
            self.signals.set("newest_item_age_days", float(age), home["final_url"], f"newest item {age} days old")
        internal = [
            m
            for m in self.metas
            if m.get("role") == "page" and (m.get("depth") or 0) >= 1 and m.get("error") not in UNVISITED
        ]
        broken = [
            m for m in internal if (m.get("error") and m["error"] != "too_large") or (m.get("status") or 0) >= 400
        ]
        self.signals.set(
            "broken_link_share",
            len(broken) / len(internal) if internal else 0.0,
            min(m["url"] for m in broken) if broken else None,  # the first in URL order: fetch order varies
            f"{len(broken)} of {len(internal)} internal links broken",
        )
        return self.signals.rows(
            {
                "crawl_id": home["crawl_id"],
                "portal_id": home["portal_id"],
                "crawled_at": crawled_at or home["fetched_at"],
            }
        )


Portals = Mapping[str, str] | Iterable[dict]


class PortalMatcher:
    """Which portal a URL belongs to: the portal whose base URL has the URL's host (case-insensitive,
    without a leading `www.` and the default port; the scheme does not count) and, where several
    portals share the host, the longest base-URL path that the URL's path starts with (then the one
    valid on the day). A URL on a portal's host outside every base path belongs to that portal when
    it is the host's only portal (its robots.txt, a redirect out of the base path)."""

    def __init__(self, portals: Portals | None = None):
        if portals is None:
            rows = registry_portals()
        elif isinstance(portals, Mapping):
            rows = [{"portal_id": pid, "base_url": url} for pid, url in portals.items()]
        else:
            rows = list(portals)
        self.base_urls: dict[str, str] = {}
        self._sites: dict[tuple[str, int | None], list[tuple[str, dict]]] = {}
        for row in rows:
            base = (row.get("base_url") or "").strip()
            site = site_of(base)
            if site is None:
                continue  # a registry portal without a base URL
            self.base_urls[row["portal_id"]] = base
            self._sites.setdefault(site, []).append((_dir(urlsplit(base).path), row))

    def match(self, url: str, day: date | None = None) -> str | None:
        candidates = self._sites.get(site_of(url) or ("", None), [])
        if not candidates:
            return None
        path = urlsplit(url).path or "/"
        under = [(prefix, row) for prefix, row in candidates if path.startswith(prefix) or path + "/" == prefix]
        if not under:
            ids = {row["portal_id"] for _, row in candidates}
            return ids.pop() if len(ids) == 1 else None
        longest = max(len(prefix) for prefix, _ in under)
        best = [row for prefix, row in under if len(prefix) == longest]
        if len(best) > 1 and day is not None:
            best = [r for r in best if "valid_from" not in r or valid_between(r, day, day)] or best
        return best[0]["portal_id"] if len({r["portal_id"] for r in best}) == 1 else None

    def is_base(self, portal_id: str, url: str) -> bool:
        base = self.base_urls.get(portal_id)
        return base is not None and site_of(base) == site_of(url) and _same_path(base, url)


def site_of(url: str) -> tuple[str, int | None] | None:
    """(host without `www.`, port unless 80 or 443) of a URL; None when it has no host."""
    try:
        parts = urlsplit(url)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None
    if not host:
        return None
    return host.removeprefix("www."), None if port in (None, 80, 443) else port


def _dir(path: str) -> str:
    return path if path.endswith("/") else (path or "") + "/"


def _same_path(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.path.rstrip("/") or "/") == (pb.path.rstrip("/") or "/") and pa.query == pb.query


def fetch_role(url: str, kw: Keywords) -> str:
    """The role our crawler would have given a fetch of this URL: its robots.txt, a sitemap path of
    the keyword seed, a search with the seed's query, else a page."""
    parts = urlsplit(url)
    if parts.path == "/robots.txt":
        return "robots"
    if any(parts.path.endswith("/" + p.lstrip("/")) for p in kw.paths.get("sitemap", ())):
        return "sitemap"
    query = fold(kw.search_query)
    if any(k.lower() in kw.search_inputs and fold(v) == query for k, v in parse_qsl(parts.query)):
        return "search"
    return "page"


def crawl_id_of(found: WarcScan) -> str:
    """Another tool's crawl: `crawl-<its first WARC-Date>-warc-<12 hex digits of the file's sha256>`.
    The same file always gives the same id (loading is idempotent), and it sorts by crawl time among
    our own ids (`crawl-<start time>`): the latest crawl of a period is the highest crawl_id."""
    first = min(r.date for r in found.http if r.date is not None)
    return f"crawl-{first:%Y%m%dT%H%M%S%f}Z-warc-{found.sha256[:12]}"


def fetch_meta(fetch: WebFetch, found: WarcScan, body: bytes | None, cut: bool, **fields) -> dict:
    """A fetch of another tool shaped as our crawler's fetch metadata."""
    status, ctype = found.status_of(fetch.final)
    return {
        **fields,  # crawl_id, portal_id, role, depth
        "url": fetch.url,
        "fetched_at": fetch.date.isoformat() if fetch.date else None,
        "final_url": fetch.final.uri,
        "status": status,
        "content_type": ctype,
        "bytes": len(body) if body is not None else 0,
        "elapsed_ms": None,
        "error": fetch.error or truncation_error(fetch.final) or ("too_large" if cut else None),
        "attempts": None,
        "redirects": fetch.hops,
        "headers": list(fetch.final.headers),  # a refusal's headers, for recognising a bot wall
    }


def extract_warc(path: Path, kw: Keywords | None = None, portals: Portals | None = None) -> dict[str, list[dict]]:
    """crawl_pages and crawl_signals rows of a WARC file (no network): each crawl of ours in it, and
    the registry portals (`portals`: {portal_id: base_url} or registry rows; default the registry)
    whose pages another tool archived in it. Raises `WarcError` for a file that cannot be loaded:
    cut mid-record, a crawl of ours without its closing summary, no page of a known portal."""
    path = Path(path)
    found = scan(path)
    incomplete = [c for c in found.crawls if not c.complete]
    if incomplete:
        raise WarcError([(_incomplete(c, found), COMPLETE) for c in incomplete])
    kw = kw or load_keywords()
    pages: list[dict] = []
    signals: list[dict] = []
    with Payloads(path) as payloads:
        for crawl in found.crawls:
            _own_rows(crawl, found, payloads, kw, pages, signals)
        if found.http:
            _other_rows(found, payloads, kw, PortalMatcher(portals), path.name, pages, signals)
    if not found.crawls and not pages:
        raise WarcError([_nothing_loaded(found, portals)])
    out = {"crawl_pages": pages, "crawl_signals": signals}
    if found.http:
        unmatched = _unmatched_hosts(found, PortalMatcher(portals))
        if unmatched:  # the loader records it with the file and the run's summary shows it
            out[NOTES] = [f"records of hosts outside every registry portal were not loaded: {unmatched}"]
    return out


def _own_rows(crawl: OwnCrawl, found: WarcScan, payloads: Payloads, kw: Keywords, pages: list, signals: list) -> None:
    """One crawl of ours, replayed fetch by fetch from its metadata records."""
    extractor = PortalExtractor(kw)
    for meta, response_id in crawl.fetches:
        body, ctype, _ = payloads.response(found, response_id)
        rendered = payloads.rendered(found, response_id)
        extractor.add(meta, body, ctype, rendered)
    pages += extractor.page_rows((crawl.summary or {}).get("warc"))
    signals += [{**r, "keywords_version": kw.version} for r in extractor.signal_rows(crawl.info.get("started"))]


def _other_rows(
    found: WarcScan, payloads: Payloads, kw: Keywords, matcher: PortalMatcher, warc_file: str, pages, signals
) -> None:
    """Another tool's records, portal by portal, shaped as our fetches and fed to the same extractor."""
    by_portal = found.fetches(lambda r: matcher.match(r.uri, r.date.date() if r.date else None))
    if not by_portal:
        return
    if not any(r.date for r in found.http):
        raise WarcError([("response records without a WARC-Date", "a WARC file whose records have their WARC-Date")])
    crawl_id, first = crawl_id_of(found), min(r.date for r in found.http if r.date is not None)
    cut = 0
    for portal_id, fetches in sorted(by_portal.items()):
        roles = [fetch_role(f.url, kw) for f in fetches]
        home = next(
            (f for f, role in zip(fetches, roles) if role == "page" and matcher.is_base(portal_id, f.url)), None
        )
        home = home or next((f for f, role in zip(fetches, roles) if role == "page"), None)
        order = sorted(range(len(fetches)), key=lambda i: (roles[i] != "robots", fetches[i] is not home, i))
        extractor = PortalExtractor(kw, search_probed=False)
        for i in order:
            fetch = fetches[i]
            body, too_large = (None, False) if fetch.error else payloads.http(found, fetch.final)
            cut += too_large
            meta = fetch_meta(
                fetch,
                found,
                body,
                too_large,
                crawl_id=crawl_id,
                portal_id=portal_id,
                role=roles[i],
                depth=0 if fetch is home or roles[i] == "robots" else 1,
            )
            meta["fetched_at"] = meta["fetched_at"] or first.isoformat()
            extractor.add(meta, body, meta["content_type"])
        pages += extractor.page_rows(warc_file)
        signals += [{**r, "keywords_version": kw.version} for r in extractor.signal_rows()]
    _log_notes(found, by_portal, matcher, cut, payloads.limit)


def _log_notes(found: WarcScan, by_portal: dict, matcher: PortalMatcher, cut: int, limit: int) -> None:
    name = found.path.name
    unmatched = _unmatched_hosts(found, matcher)
    if unmatched:
        log.warning("%s: records of hosts outside every registry portal were not loaded: %s", name, unmatched)
    assets = sum(r.subresource for r in found.http)
    orphans = sum(r.kind == "revisit" and found.referent(r) is None for r in found.http)
    log.info(
        "%s: %d portal(s) %s; %d subresource record(s) not loaded; %d payload(s) cut at %d bytes; "
        "%d revisit(s) without their response in the file (no body)",
        name,
        len(by_portal),
        ", ".join(sorted(by_portal)),
        assets,
        cut,
        limit,
        orphans,
    )


def _unmatched_hosts(found: WarcScan, matcher: PortalMatcher) -> str:
    hosts = Counter(
        urlsplit(r.uri).netloc.lower()
        for r in found.http
        if matcher.match(r.uri, r.date.date() if r.date else None) is None
    )
    shown = ", ".join(f"{h} ({n} record{'s' if n > 1 else ''})" for h, n in hosts.most_common(10))
    return shown + (f" and {len(hosts) - 10} more host(s)" if len(hosts) > 10 else "")


def _incomplete(crawl: OwnCrawl, found: WarcScan) -> str:
    if crawl.last_record == found.records:
        where = f"the file was cut at byte {found.size}, after {found.records} records"
    else:
        where = f"its records stop at record {crawl.last_record} (byte {crawl.end_offset}) of {found.records}"
    return f"incomplete crawl: no closing summary record for {crawl.label}; {where}"


def _nothing_loaded(found: WarcScan, portals: Portals | None) -> tuple[str, str]:
    registry = "the registry" if portals is None else "the portals given"
    expected = f"response records from the host of a base URL in {registry} (portals_registry.csv)"
    if not found.http:
        passed = ", ".join(f"{n} {kind}" for kind, n in sorted(found.skipped.items())) or "nothing else"
        return f"no HTTP response records of http(s) URLs and no portal-index fetch records ({passed})", expected
    hosts = _unmatched_hosts(found, PortalMatcher(portals))
    if hosts:
        return f"no response from a registry portal's host; hosts in the file: {hosts}", expected
    return "only subresources (images, style sheets, scripts) of registry portals, no pages", expected
