"""The polite crawler: breadth-first within each portal's own hosts, archived as one WARC per portal.

Built on aiohttp (async HTTP, through `portal_index.fetch.http_client`: guarded, retrying timeouts,
dropped connections and 429/5xx with exponential backoff and Retry-After), protego (robots.txt,
including Crawl-delay) and warcio (the archive); docs/crawler.md says why these and not Scrapy.

What the crawler decides itself is only what a crawl of government portals needs: which URLs are
the portal's (its hosts and path prefix), the limits (pages, depth, bytes, time per response and per
portal, consecutive errors, query variants of one path), and the private-address guard
(`portal_index.fetch.netguard`). Every fetch goes to the WARC file and to `portal_index.parse.portal_signals`'s
extractor, whose parse of each page also gives the crawler its links; the loader and
`portal-index extract` replay the WARC through the same extractor, without network.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
import sniffio
from protego import Protego

from portal_index import __version__
from portal_index.config import progress_on_tty, render_concurrency, user_agent_override
from portal_index.fetch.http_client import CrawlClient, as_httpx_writes, plain_url
from portal_index.fetch.netguard import Guard, check_scheme, classify
from portal_index.fetch.render import Renderer, find_render_chromium
from portal_index.fetch.user_agent import ROBOTS_AGENT, USER_AGENT
from portal_index.fetch.warc_writer import Exchange, PortalWarc
from portal_index.parse.bot_walls import challenge_redirect, wall_of
from portal_index.parse.page_signals import Keywords, PageFacts, load_keywords
from portal_index.parse.portal_signals import PortalExtractor, app_shell


@dataclass(frozen=True)
class CrawlLimits:
    max_pages: int = 40  # fetches scheduled per portal (robots-disallowed ones included)
    max_depth: int = 3
    max_bytes: int = 5_000_000  # per response, after content decoding (gzip bombs stop here)
    response_seconds: float = 30.0  # whole response, headers to last byte (slow drips stop here)
    timeout_seconds: float = 15.0  # connect and each read
    portal_seconds: float = 300.0
    delay_seconds: float = 1.0  # between requests to one site; a larger robots.txt Crawl-delay wins
    max_crawl_delay: float = 30.0  # a Crawl-delay above this is capped (the portal time limit still holds)
    per_site: int = 2  # concurrent requests to one site
    concurrency: int = 16  # concurrent requests in all
    retries: int = 2  # of timeouts, dropped connections and 429/5xx answers
    backoff_seconds: float = 0.5  # first retry's wait; doubles each time, Retry-After respected
    max_redirects: int = 5
    max_errors: int = 15  # consecutive failed fetches before a portal is given up
    max_query_variants: int = 10  # URLs of one path that differ only in their query (calendars)
    throttle_by: str = "host"  # "portal" where many portals share one address (the simulator's loopback mode)
    render: bool = True  # render app-shell pages in headless Chromium when one is found
    # pages rendered at once, in all (portal_index.config.render_concurrency: two per CPU); a render
    # is a request to its site, under the site's `per_site` and its rate limit like any fetch
    render_concurrency: int = field(default_factory=render_concurrency)
    processes: int = 1  # crawl processes when rendering is off; 0: one per CPU (portal_index.fetch.shards)
    user_agent: str = USER_AGENT
    guard: Guard = field(default_factory=Guard)

    @classmethod
    def from_env(cls, **overrides) -> CrawlLimits:
        ua = user_agent_override()
        return cls(**({"user_agent": ua} if ua else {}), **overrides)


@dataclass
class PortalCrawl:
    portal_id: str
    warc: Path
    fetches: int = 0
    errors: int = 0
    stopped: str = "complete"  # complete | page_limit | time_limit | error_budget | crashed: ... | deferred: ...
    seconds: float = 0.0
    signals: int = 0  # signal rows extracted during the crawl (the loader re-derives them from the WARC)
    unrendered: int = 0  # app-shell pages recorded as render_failed because no browser rendered them


def make_client(limits: CrawlLimits) -> CrawlClient:
    """The crawl's HTTP client (`portal_index.fetch.http_client`): guarded, retrying timeouts,
    dropped connections and 429/5xx answers, completing certificate chains, never following a
    redirect itself (the crawler follows them by hand, each hop checked and archived)."""
    return CrawlClient(
        guard=limits.guard,
        connections=limits.concurrency,
        timeout_seconds=limits.timeout_seconds,
        retries=limits.retries,
        backoff_seconds=limits.backoff_seconds,
        headers={
            "User-Agent": limits.user_agent,
            "Accept-Encoding": "gzip, deflate",
            "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
        },
    )


NO_BROWSER = "no Chromium to render it (install Debian's `chromium`: make chromium)"
# limits that say how the crawl is run, not what it fetches: not recorded in the WARC file
_NOT_RECORDED = ("guard", "user_agent", "processes")


class SiteTaken(Exception):
    """A portal's home page moved to a site whose politeness another crawl process keeps
    (`portal_index.fetch.shards`): the portal is crawled again once that process is done."""


def warc_info(crawl_id: str, portal_id: str, base_url: str, limits: CrawlLimits) -> dict:
    """The `warcinfo` record of a portal's WARC file."""
    return {
        "software": f"portal-index/{__version__}",
        "format": "WARC File Format 1.1",
        "crawl-id": crawl_id,
        "portal-id": portal_id,
        "base-url": base_url,
        "user-agent": limits.user_agent,
        "robots": "obey (protego)",
        "limits": str({k: v for k, v in asdict(limits).items() if k not in _NOT_RECORDED}),
        "started": datetime.now(UTC).isoformat(),
    }


def crashed_crawl(
    portal_id: str, base_url: str, warc_path: Path, limits: CrawlLimits, crawl_id: str, why: str
) -> PortalCrawl:
    """A portal whose crawl ended with its process: a WARC file that says so (its warcinfo and
    closing summary, `stopped: crashed: ...`) replaces what the process had written, which may
    stop mid-record; the loader then records the portal as crawled and crashed, without pages."""
    result = PortalCrawl(portal_id, warc_path, stopped=f"crashed: {why}"[:240])
    warc = PortalWarc(warc_path, warc_info(crawl_id, portal_id, base_url, limits))
    warc.summary(
        base_url,
        {
            **asdict(result),
            "warc": warc_path.name,
            "hosts": [urlsplit(base_url).netloc.lower()],
            "scheduled": 0,
            "finished": datetime.now(UTC).isoformat(),
        },
    )
    warc.close()
    return result


def canonical(url: str) -> str | None:
    """The URL as it is requested and archived: no fragment, unsafe characters percent-encoded
    (by httpx; a URL that is already plain, lower-case host and safe characters only, as is)."""
    url = urldefrag(url)[0]
    if plain_url(url):
        return url  # as it is, dot segments too (it is sent as httpx writes it: `as_httpx_writes`)
    try:
        return as_httpx_writes(url)
    except (httpx.InvalidURL, ValueError):
        return None


HTTPX_REDIRECTS = (301, 302, 303, 307, 308)  # the answers whose Location httpx read (`has_redirect_location`)


def redirect_target(current: str, location: str, status: int) -> str:
    """Where a redirect goes, without its fragment: the `Location` joined to the request's URL
    (`urljoin`, which keeps the port of a `Location` such as `http:/p`). The crawler fetched with
    httpx until 28 November, which read the `Location` of the answers in `HTTPX_REDIRECTS` even
    though it followed none (its `_redirect_url`, httpx 0.28), and failed on some; those fail here
    the same way, so they are recorded as before: a `Location` that is no URL raises
    `httpx.RemoteProtocolError` (`protocol_error`), one whose scheme has no host that cannot take
    the request's host (backslashes after `http:`) `httpx.InvalidURL` (`bad_url`)."""
    location = location.strip()
    if status in HTTPX_REDIRECTS:
        try:
            read = httpx.URL(location)
        except httpx.InvalidURL as e:
            raise httpx.RemoteProtocolError(f"Invalid URL in location header: {e}.") from None
        if read.scheme and not read.host:
            read.copy_with(host=httpx.URL(current).host)
    return urldefrag(urljoin(current, location))[0]


class BoundedDecoder:
    """Content decoding that never inflates more than asked for (a gzip bomb stops at the byte limit).

    httpx would inflate each network chunk whole (about 1000x for a bomb); zlib's `max_length`
    bounds it. We ask servers for gzip or deflate only; anything else is an error of the response.
    """

    def __init__(self, encoding: str | None):
        self.encoding = (encoding or "identity").strip().lower()
        if self.encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding == "deflate":
            self._z = zlib.decompressobj()
        elif self.encoding == "identity":
            self._z = None
        else:
            raise httpx.DecodingError(f"unsupported content-encoding {self.encoding!r}")
        self._started = False

    def feed(self, data: bytes, limit: int) -> bytes:
        if self._z is None:
            return data[:limit]
        try:
            out = self._z.decompress(data, limit)
        except zlib.error:
            if self.encoding != "deflate" or self._started:
                raise httpx.DecodingError(f"corrupt {self.encoding} stream") from None
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send it
            out = self._z.decompress(data, limit)
        self._started = True
        return out


class _Sites:
    """Per-site politeness: a concurrency cap, and turns: a request starts at least the site's delay
    after the previous request to the site started. The time of the last turn outlives a change of
    delay, so the first page after a robots.txt asking for a Crawl-delay waits it out after the
    robots.txt request too. (A leaky bucket made anew for the new delay let the next request go at
    once, 50 ms after robots.txt.)"""

    def __init__(self, limits: CrawlLimits):
        self.limits = limits
        self._sems: dict[str, asyncio.Semaphore] = {}
        self._delays: dict[str, float] = {}
        self._turns: dict[str, asyncio.Lock] = {}  # FIFO: the site's requests take turns in order
        self._last: dict[str, float] = {}  # `time.monotonic()` of the site's last turn
        self._clock = (datetime.now(UTC), time.monotonic())  # a turn's wall time, from its monotonic time

    def slow_down(self, site: str, crawl_delay: float | None) -> None:
        self._delays[site] = max(self.limits.delay_seconds, min(crawl_delay or 0.0, self.limits.max_crawl_delay))

    def semaphore(self, site: str) -> asyncio.Semaphore:
        return self._sems.setdefault(site, asyncio.Semaphore(self.limits.per_site))

    async def wait_turn(self, site: str) -> datetime:
        """Wait for the site's turn; returns when it came (a request's `fetched_at`). Timed with
        `time.monotonic`, not the event loop's clock, which uvloop keeps in whole milliseconds (its
        timers can fire up to a millisecond early)."""
        if self._delays.get(site, self.limits.delay_seconds) <= 0 and site not in self._turns:
            self._last[site] = now = time.monotonic()  # a delay robots.txt asks for counts from its own request
            return self._wall(now)  # no delay asked for, and none ever was: no waiting, no lock
        async with self._turns.setdefault(site, asyncio.Lock()):
            while (
                wait := self._last.get(site, -math.inf)
                + self._delays.get(site, self.limits.delay_seconds)
                - time.monotonic()
            ) > 0:  # the delay as it is when this turn comes
                await asyncio.sleep(wait)
            self._last[site] = now = time.monotonic()
            return self._wall(now)

    def _wall(self, monotonic: float) -> datetime:
        """The wall time of a turn, from the same reading of the clock that spaces the turns."""
        wall, start = self._clock
        return wall + timedelta(seconds=monotonic - start)


class PortalCrawler:
    """Crawls one portal into one WARC file."""

    def __init__(
        self,
        portal_id: str,
        base_url: str,
        client: CrawlClient,
        limits: CrawlLimits,
        kw: Keywords,
        crawl_id: str,
        warc_path: Path,
        global_sem: asyncio.Semaphore,
        sites: _Sites,
        progress: Callable[[str, int], None],
        renderer: Renderer | None = None,
        render_slots: asyncio.Semaphore | None = None,
        no_browser: str = NO_BROWSER,  # why app shells cannot be rendered when there is no renderer
        may_use: Callable[[str], bool] = lambda site: True,  # another process keeps no politeness for the site
    ):
        self.portal_id, self.base_url, self.client, self.limits, self.kw = portal_id, base_url, client, limits, kw
        self.renderer = renderer
        self.renders = 0  # pages of this portal sent to the renderer
        self.no_browser = no_browser
        self.may_use = may_use
        self.taken: str | None = None  # why this crawl stopped for another process's site
        self.render_slots = render_slots or asyncio.Semaphore(limits.render_concurrency)
        self.crawl_id, self.global_sem, self.sites, self.progress = crawl_id, global_sem, sites, progress
        base = urlsplit(base_url)
        self.hosts = {base.netloc.lower()}
        self.prefix = base.path or "/"
        self.robots: dict[str, asyncio.Future] = {}
        self.result = PortalCrawl(portal_id, warc_path)
        self.warc = PortalWarc(warc_path, warc_info(crawl_id, portal_id, base_url, limits))
        self.seen: set[str] = set()
        self.query_variants: Counter = Counter()
        self.scheduled = 0
        self.consecutive_errors = 0
        self.search_form: tuple[str, str] | None = None
        self.home_ok = False
        self.extractor = PortalExtractor(kw)

    # -- scope --------------------------------------------------------------------------------
    def site(self, url: str) -> str:
        return self.portal_id if self.limits.throttle_by == "portal" else urlsplit(url).netloc.lower()

    def adopt(self, url: str) -> bool:
        """Take the host a home page ended on (e.g. http:// -> https://www.) as the portal's own;
        False (and `taken` says why) when another crawl process keeps that site's politeness."""
        host = urlsplit(url).netloc.lower()
        if host not in self.hosts and not self.may_use(self.site(url)):
            self.taken = f"deferred: the home page moved to {host}, a site crawled by another process"
            return False
        self.hosts.add(host)
        return True

    def in_scope(self, url: str) -> bool:
        u = urlsplit(url)
        if u.scheme not in ("http", "https") or u.netloc.lower() not in self.hosts:
            return False
        base_host = urlsplit(self.base_url).netloc.lower()
        return (
            u.netloc.lower() != base_host
            or u.path.startswith(self.prefix)
            or u.path.rstrip("/") == self.prefix.rstrip("/")
        )

    def admit(self, url: str) -> bool:
        """True once per URL in scope, within the query-variant limit (endless calendars)."""
        url = canonical(url)
        if url is None or url in self.seen or not self.in_scope(url):
            return False
        parts = urlsplit(url)
        if parts.query:
            key = (parts.netloc, parts.path)
            if self.query_variants[key] >= self.limits.max_query_variants:
                return False
            self.query_variants[key] += 1
        self.seen.add(url)
        return True

    # -- fetching -----------------------------------------------------------------------------
    async def fetch(self, url: str, role: str, depth: int) -> tuple[dict, bytes | None, PageFacts | None]:
        """One logical fetch (redirects followed by hand, each hop checked and archived), handed to
        the extractor; returns its metadata, body and, for an HTML page, the page's facts."""
        meta = {
            "crawl_id": self.crawl_id,
            "portal_id": self.portal_id,
            "role": role,
            "url": url,
            "depth": depth,
            "fetched_at": datetime.now(UTC).isoformat(),
            "final_url": None,
            "status": None,
            "content_type": None,
            "bytes": 0,
            "elapsed_ms": None,
            "error": None,
            "attempts": 0,
            "redirects": [],
        }
        body: bytes | None = None
        response_id = None
        site = self.site(url)
        start = time.perf_counter()
        async with self.global_sem, self.sites.semaphore(site):
            try:
                current, hops = url, []
                while True:
                    refusal = check_scheme(current)
                    if refusal:
                        meta["error"] = "blocked_scheme"
                        break
                    turn = await self.sites.wait_turn(site)
                    if not hops:
                        meta["fetched_at"] = turn.isoformat()  # when it really started
                    async with asyncio.timeout(self.limits.response_seconds):
                        ex, truncated, attempts, tls_fault = await self._exchange(current)
                    meta["attempts"] += attempts
                    response_id = self.warc.exchange(ex)
                    headers = dict(ex.headers)  # names in lower case, each once (`Exchange`)
                    meta.update(
                        final_url=current,
                        status=ex.status,
                        bytes=len(ex.body),
                        content_type=headers.get("content-type"),
                    )
                    if tls_fault:
                        meta["tls_fault"] = tls_fault
                    location = headers.get("location")
                    wall = wall_of(ex.status, ex.headers, ex.body) or challenge_redirect(location)
                    # walls (with the headers, which a replay does not have) and, below, app shells
                    meta["checked_live"] = True
                    if wall is not None:  # never read as the portal's content
                        meta["error"], meta["detail"] = "blocked", wall.reason()
                        break
                    if 300 <= ex.status < 400 and location:
                        target = redirect_target(current, location, ex.status)
                        hops.append(target)
                        meta["redirects"] = hops
                        if target in hops[:-1] or target == url:
                            meta["error"] = "redirect_loop"
                            break
                        if len(hops) > self.limits.max_redirects:
                            meta["error"] = "too_many_redirects"
                            break
                        current = target
                        continue
                    if truncated:
                        meta["error"] = "too_large"
                    body = ex.body
                    break
            except (TimeoutError, httpx.HTTPError) as e:
                meta["error"] = classify(e)
            except (httpx.InvalidURL, ValueError) as e:  # malformed URLs: httpx's refusal, urllib's
                meta["error"] = "bad_url"
                meta["detail"] = str(e)[:200]
        meta["elapsed_ms"] = round((time.perf_counter() - start) * 1000, 1)
        rendered = await self._render_if_shell(meta, body, response_id) if role in ("page", "search") else None
        self.warc.fetch(meta, response_id)
        facts = self.extractor.add(meta, body, rendered=rendered)
        failed = bool(meta["error"] and meta["error"] != "too_large") or (meta["status"] or 0) >= 500
        self.consecutive_errors = self.consecutive_errors + 1 if failed else 0
        self.result.fetches += 1
        self.result.errors += failed or (meta["status"] or 0) >= 400
        self.progress("fetch", 1 if failed or (meta["status"] or 0) >= 400 else 0)
        return meta, body, facts

    async def _render_if_shell(self, meta: dict, body: bytes | None, response_id: str | None) -> bytes | None:
        """The rendered DOM of a page whose HTML is an app shell (archived with its response), or
        None: the page holds its content, or it could not be rendered (`render_failed`, detail)."""
        if body is None or meta["error"] or meta["status"] != 200:
            return None
        shell = app_shell(body, meta["content_type"])
        if shell is None:
            return None
        if self.renderer is None:
            meta["error"], meta["detail"] = "render_failed", f"{shell}; {self.no_browser}"
            self.result.unrendered += 1
            return None
        if meta["role"] == "page" and meta["depth"] > 0 and self.renders >= self.renderer.limits.pages_per_portal - 1:
            meta["error"], meta["detail"] = "render_failed", "render_failed: page_limit (one kept for the search page)"
            return None
        self.renders += 1
        site = self.site(meta["final_url"])  # the browser loads the page again, with its scripts' requests:
        async with self.sites.semaphore(site), self.render_slots:  # one of the site's requests, in its turn
            await self.sites.wait_turn(site)
            result = await self.renderer.render(meta["final_url"], self.portal_id)
        error = result.error
        if error is None and urlsplit(result.final_url or "").netloc.lower() not in self.hosts:
            error = f"render_failed: navigated off the portal, to {urlsplit(result.final_url or '').netloc}"
        if error is None:
            wall = wall_of(200, None, result.html)  # what the app drew may be a wall's page
            error = wall.reason() if wall is not None else None
        if error is not None or result.html is None:
            error = error or "render_failed: no DOM"
            meta["error"] = (
                error.split(":")[0] if error.startswith(("blocked_address", "blocked:")) else "render_failed"
            )
            meta["detail"] = error
            return None
        self.warc.rendered(meta["final_url"], response_id, result.html)
        meta["read_as"], meta["render_ms"], meta["rendered_url"] = "rendered", round(result.ms, 1), result.final_url
        return result.html.encode("utf-8")

    async def _exchange(self, url: str) -> tuple[Exchange, bool, int, str | None]:
        fetched = await self.client.get(url, BoundedDecoder, self.limits.max_bytes)
        return fetched.exchange, fetched.truncated, fetched.attempts, fetched.tls_fault

    async def robots_for(self, url: str) -> Protego:
        """robots.txt of the URL's host (RFC 9309: 4xx = no rules, 5xx or unreachable = disallow all)."""
        parts = urlsplit(url)
        host = parts.netloc.lower()
        if host not in self.robots:  # one task per host: concurrent workers wait for the same answer
            self.robots[host] = asyncio.ensure_future(self._load_robots(url))
        return await self.robots[host]

    async def _load_robots(self, url: str) -> Protego:
        parts = urlsplit(url)
        meta, body, _ = await self.fetch(f"{parts.scheme}://{parts.netloc}/robots.txt", "robots", 0)
        status = meta["status"] or 0
        if status == 200 and body is not None:
            rules = Protego.parse(body.decode("utf-8", errors="replace"))
        elif 400 <= status < 500:
            rules = Protego.parse("")
        else:
            rules = Protego.parse("User-agent: *\nDisallow: /")
        self.sites.slow_down(self.site(url), rules.crawl_delay(ROBOTS_AGENT))
        return rules

    async def polite_fetch(self, url: str, role: str, depth: int) -> tuple[dict, bytes | None, PageFacts | None]:
        """`fetch` if robots.txt allows it, else a recorded refusal."""
        rules = await self.robots_for(url)
        if rules.can_fetch(url, ROBOTS_AGENT):
            return await self.fetch(url, role, depth)
        meta = {
            "crawl_id": self.crawl_id,
            "portal_id": self.portal_id,
            "role": role,
            "url": url,
            "depth": depth,
            "fetched_at": datetime.now(UTC).isoformat(),
            "error": "robots_disallowed",
            "attempts": 0,
        }
        self.warc.fetch(meta, None)
        self.extractor.add(meta, None)
        self.result.fetches += 1
        self.progress("fetch", 0)
        return meta, None, None

    async def visit(self, url: str, depth: int, queue: asyncio.Queue) -> None:
        meta, body, facts = await self.polite_fetch(url, "page", depth)
        if depth == 0:
            self.home_ok = meta.get("status") == 200
            if meta.get("final_url") and not self.adopt(meta["final_url"]):
                return  # nothing followed: the portal is crawled again later (`SiteTaken`)
        if facts is None:  # not an HTML page (or not fetched)
            return
        self.search_form = self.search_form or facts.search_form
        if depth >= self.limits.max_depth:
            return
        for link in facts.links:
            if self.scheduled >= self.limits.max_pages:
                break
            if self.admit(link):
                self.scheduled += 1
                queue.put_nowait((canonical(link), depth + 1))

    async def run(self) -> PortalCrawl:
        started = time.monotonic()
        try:
            try:
                async with asyncio.timeout(self.limits.portal_seconds):
                    await self._crawl()
            except TimeoutError:
                self.result.stopped = "time_limit"
        except SiteTaken as e:
            self.result.stopped = str(e)
        except Exception as e:  # a bug or a surprise must not take the other portals down
            self.result.stopped = f"crashed: {type(e).__name__}: {str(e)[:200]}"
        self.result.seconds = round(time.monotonic() - started, 2)
        self.result.signals = len(self.extractor.signal_rows())
        self.warc.summary(
            self.base_url,
            {
                **asdict(self.result),
                "warc": self.result.warc.name,
                "hosts": sorted(self.hosts),
                "scheduled": self.scheduled,
                "finished": datetime.now(UTC).isoformat(),
            },
        )
        self.warc.close()
        if not self.result.stopped.startswith("deferred"):  # a deferred portal is counted when crawled again
            self.progress("portal", 0)
        return self.result

    async def _crawl(self) -> None:
        queue: asyncio.Queue = asyncio.Queue()
        self.admit(self.base_url)
        self.scheduled = 1
        queue.put_nowait((self.base_url, 0))

        async def worker():
            while True:
                url, depth = await queue.get()
                try:
                    if self.consecutive_errors < self.limits.max_errors:
                        await self.visit(url, depth, queue)
                finally:
                    queue.task_done()

        workers = [asyncio.create_task(worker()) for _ in range(max(1, self.limits.per_site))]
        try:
            await queue.join()
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        if self.taken:
            raise SiteTaken(self.taken)
        if self.consecutive_errors >= self.limits.max_errors:
            self.result.stopped = "error_budget"
            return
        if self.scheduled >= self.limits.max_pages:
            self.result.stopped = "page_limit"
        if not self.home_ok:
            return  # nothing more to learn from a portal whose home page failed
        for path in self.kw.paths.get("sitemap", ()):
            await self.polite_fetch(urljoin(self.base_url, path), "sitemap", 1)
        if self.search_form:
            action, name = self.search_form
            if self.in_scope(action):
                await self.polite_fetch(str(httpx.URL(action, params={name: self.kw.search_query})), "search", 1)


async def crawl_async(
    targets: dict[str, str],
    out_dir: Path,
    limits: CrawlLimits,
    crawl_id: str,
    progress: Callable[[str, int], None] = lambda kind, n: None,
    log: Callable[[str], None] = print,
    concurrency: int | None = None,
    may_use: Callable[[str], bool] = lambda site: True,
    done: Callable[[PortalCrawl], None] = lambda result: None,
) -> list[PortalCrawl]:
    """Crawl the portals in this process. A shard of a crawl run on several processes
    (`portal_index.fetch.shards`) has its share of the concurrency, `may_use` says which sites it
    keeps the politeness of, and `done` hands on each portal's result as soon as it is written."""
    kw = load_keywords()
    out_dir.mkdir(parents=True, exist_ok=True)
    sites = _Sites(limits)
    sem = asyncio.Semaphore(concurrency or limits.concurrency)
    chromium = find_render_chromium() if limits.render else None
    no_browser = NO_BROWSER if limits.render else "rendering is off in this crawl"
    if limits.render and chromium is None:
        log(f"app-shell pages will be recorded as render_failed: {no_browser}")
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(make_client(limits))
        renderer = None
        if chromium:
            try:
                renderer = await stack.enter_async_context(Renderer(limits.guard, chromium))
            except Exception as e:  # a browser that does not start costs the rendering, not the crawl
                no_browser = f"Chromium did not start ({chromium}: {str(e).strip().splitlines()[0][:160]})"
                log(f"app-shell pages will be recorded as render_failed: {no_browser}")
        render_slots = asyncio.Semaphore(limits.render_concurrency)
        crawlers = [
            PortalCrawler(
                pid,
                url,
                client,
                limits,
                kw,
                crawl_id,
                out_dir / f"{crawl_id}-{pid}.warc.gz",
                sem,
                sites,
                progress,
                renderer,
                render_slots,
                no_browser,
                may_use,
            )
            for pid, url in sorted(targets.items())
        ]

        async def run(crawler: PortalCrawler) -> PortalCrawl:
            result = await crawler.run()
            done(result)
            return result

        results = await asyncio.gather(*(run(c) for c in crawlers))
        if renderer is not None:
            log(f"rendered in Chromium: {dict(renderer.stats)}")
    for r in results:
        log(f"crawled {r.portal_id}: {r.fetches} fetches, {r.errors} errors, stopped: {r.stopped}, {r.seconds} s")
    return results


def new_crawl_id() -> str:
    return "crawl-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def run_loop(coro):
    """asyncio.run on uvloop where it is installed (a faster event loop), else the standard one."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_on_asyncio(coro))
    return uvloop.run(_on_asyncio(coro))


async def _on_asyncio(coro):
    """`coro`, with its library declared to sniffio as async libraries do. anyio asks sniffio which
    library runs (the guard's lookups, `netguard.resolve`); undeclared, each answer looks up the
    current task (4.7 % of a crawl's samples on 28 November, when httpx's httpcore and anyio asked
    several times a request; the crawl's aiohttp client asks once a connection). The tasks of the
    loop inherit the declaration, and so does a thread started with `asyncio.to_thread` (it copies the
    context): code there must not start an event loop of its own through anyio (the renderer's
    `trust_options` runs a subprocess)."""
    sniffio.current_async_library_cvar.set("asyncio")
    return await coro


def demo_limits(limits: CrawlLimits, guard: Guard | None = None) -> CrawlLimits:
    """Limits for the local simulator: no politeness delay, and its guard (`Simulator.guard()`:
    portal hosts mapped to loopback, its CA trusted); without one, loopback on any port (the
    simulator's loopback path mode, where many portals share one site)."""
    if guard is None:
        guard = Guard(block_private=True, allow=("127.0.0.0/8", "::1/128"))
        return replace(limits, delay_seconds=0.0, throttle_by="portal", guard=guard)
    return replace(limits, delay_seconds=0.0, guard=guard)


@contextlib.contextmanager
def crawl_progress(portals: int):
    """A progress bar (portals done, pages, errors) on the terminal of `portal-index`, which sets
    PORTAL_INDEX_PROGRESS when it runs on one; Dagster captures the steps' own output, so the bar
    goes to /dev/tty. Silent elsewhere (the daemon, tests, CI)."""
    from tqdm import tqdm

    counts = {"fetches": 0, "errors": 0}
    tty = None
    if progress_on_tty():
        try:
            tty = open("/dev/tty", "w")
        except OSError:
            tty = None
    with contextlib.ExitStack() as stack:
        if tty is not None:
            stack.callback(tty.close)
        bar = stack.enter_context(
            tqdm(total=portals, unit="portal", desc="crawl", file=tty, disable=tty is None, dynamic_ncols=True)
        )

        def progress(kind: str, errors: int) -> None:
            if kind == "fetch":
                counts["fetches"] += 1
                counts["errors"] += errors
            if kind == "portal" or counts["fetches"] % 20 == 0:
                bar.set_postfix(pages=counts["fetches"], errors=counts["errors"], refresh=kind == "portal")
            if kind == "portal":
                bar.update(1)

        yield progress


def tally(results: list[PortalCrawl]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for r in results:
        out[r.stopped.split(":")[0]] += 1
    return dict(out)
