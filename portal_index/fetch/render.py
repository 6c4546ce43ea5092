"""Pages whose content JavaScript builds, rendered in headless Chromium for the normal extraction.

Many public-service portals are single-page applications: the HTML the crawler receives is an app
shell (`portal_index.parse.app_shell.needs_render` tells), and menus, search box, feedback link and
procedure lists are built in the browser from a JSON endpoint. `Renderer` loads such a page in
Debian's Chromium (driven by Playwright, `executable_path`, no browser download), lets it settle and
returns the rendered DOM (`page.content()`), on which the crawler's extraction runs as on any page.

    async with Renderer(guard, find_render_chromium()) as renderer:
        rendered = await renderer.render("https://dichvucong.example.gov.vn/", "example-service")
        if rendered.error is None:
            signals = extract(rendered.html)

One browser per `Renderer`, started with the accessibility audit's switches (`browser.browser_args`):
every connection (navigation, redirect, subresource, the app's XHR and fetch calls, WebSockets)
goes through one `GuardedProxy(guard)` of its own, which resolves names, applies `Guard.route`
(demo and tests) and refuses what the private-address guard forbids. Each page gets a fresh
browser context (no cookies, storage or cache shared between pages, so none between portals;
service workers blocked), `Accept-Language: vi-VN`, and Chromium's user agent with ours appended.
`find_render_chromium` prefers Debian's `chromium-headless-shell` (Chromium's old headless mode,
same version and switches) to `chromium`: a new page costs the full browser's new headless mode
about 0.5 s of CPU before it loads anything; per rendered page the shell takes about a sixth of the
CPU and half the memory (`make bench-render`).

A page: navigation to DOMContentLoaded, then up to `settle_seconds` for the network to go quiet
(no request for 500 ms: the app's data has arrived and been drawn; a page that never goes quiet,
a long poll say, is taken as it is then), then the used JS heap (CDP `Performance.getMetrics`), the
size of the DOM, and its serialisation. Limits (`RenderLimits`), each an error value, never an
exception:

- `render_failed: time_limit`: navigation and settling over `page_seconds` (a document that never
  ends, a script that never yields: the page's context is closed, within 5 s, and we go on);
- `render_failed: page_limit`: the portal already had `pages_per_portal` pages rendered (or tried);
- `render_failed: portal_time_limit`: the portal's browser time (`portal_seconds`, the wall time
  of its pages, summed) is spent, or runs out during this page;
- `render_failed: dom_too_large`: the serialised DOM is over `max_dom_bytes` (measured in the page
  before it is copied out);
- `render_failed: memory_limit`: the used JS heap is over `heap_mb`, or the page crashed (V8 is
  started with `--max-old-space-size=heap_mb`, so a page that allocates beyond it kills its renderer);
- `blocked_address: …`: the guard refused the navigation or one of its redirects (detected as the
  audit does, `browser._refused_navigation`);
- `blocked_scheme: …`: not http or https;
- `blocked: <kind> (<vendor>): <marker>`: the page's document, or a request of its scripts for
  its data, was answered by a bot wall (`portal_index.parse.bot_walls`);
- `render_failed: <ExceptionType>: <message>`: anything else (a TLS error, a refused connection).

HTTPS trust: in demo and test mode Chromium trusts `Guard.ca_file`, and only with full verification
(`portal_index.fetch.chromium_trust`).

`stats`: pages tried, rendered, failed, blocked (address or scheme), pages that never settled,
pages whose context did not close in time (`abandoned`), limit hits by name (`limits`), and
`browser_cpu_seconds`: user and system CPU time of the browser's processes (the
browser, its zygotes, renderers, GPU and network processes, those that exited included), from /proc.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from portal_index.config import render_chromium_binary
from portal_index.fetch.browser import SETTLE_SECONDS, _blocked, _refused_navigation, browser_args
from portal_index.fetch.chromium_trust import trust_options
from portal_index.fetch.netguard import SCHEMES, Guard
from portal_index.fetch.proxy import GUARD_HEADER, GuardedProxy
from portal_index.fetch.user_agent import USER_AGENT
from portal_index.parse.bot_walls import wall_of

LOCALE = "vi-VN"
_CLOSE_SECONDS = 5.0  # closing a context or the browser
_MARGIN = 0.5  # seconds of a page's budget kept for the heap check and the serialisation
_DOM_LENGTH = "() => document.documentElement ? document.documentElement.outerHTML.length : 0"


@dataclass(frozen=True)
class RenderLimits:
    page_seconds: float = 15.0  # navigation + settle, per page
    pages_per_portal: int = 10
    portal_seconds: float = 120.0  # browser time per portal
    max_dom_bytes: int = 5_000_000
    heap_mb: int = 256  # JS heap per page (V8 --max-old-space-size and a check of the used heap)
    settle_seconds: float = SETTLE_SECONDS  # at most this long, within page_seconds, for the network to go quiet


@dataclass
class Rendered:
    url: str
    final_url: str | None
    html: str | None
    error: str | None
    ms: float
    heap_mb: float | None


class _Failed(Exception):
    """A page's outcome that is an error value (already formatted)."""

    def __init__(self, error: str, heap_mb: float | None = None):
        super().__init__(error)
        self.heap_mb = heap_mb


def find_render_chromium() -> str | None:
    """The browser that renders: `PORTAL_INDEX_CHROMIUM`, else Debian's `chromium-headless-shell`
    (Chromium's old headless mode: about a quarter of the CPU per rendered page of `chromium`'s new
    headless mode and half the memory, and no background requests of its own), else `chromium`."""
    return render_chromium_binary()


# -- the browser's processes -------------------------------------------------------------------


def _parent_of() -> dict[int, int]:
    parents = {}
    if not os.path.isdir("/proc"):  # not Linux: no process figures
        return parents
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(entry.path, "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def process_tree(pid: int) -> list[int]:
    """pid and its living descendants (Linux /proc)."""
    children = defaultdict(list)
    for child, parent in _parent_of().items():
        children[parent].append(child)
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, ()))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU seconds of the processes and of their children that exited (and were reaped)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


def _browser_pids() -> set[int]:
    """Chromium main processes started by this process's Playwright (`--remote-debugging-pipe`, no
    `--type=`), each the topmost of its kind (a wrapper script that does not `exec` counts)."""
    found = set()
    for pid in process_tree(os.getpid()):
        with contextlib.suppress(OSError):
            args = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
            if b"--remote-debugging-pipe" in args and not any(a.startswith(b"--type=") for a in args):
                found.add(pid)
    parents = _parent_of()
    return {pid for pid in found if parents.get(pid) not in found}


# -- the renderer ------------------------------------------------------------------------------


class Renderer:
    """`async with Renderer(guard, chromium) as r: await r.render(url, portal_id)`; pages may be
    rendered concurrently (the caller bounds how many)."""

    def __init__(
        self, guard: Guard, chromium: str, limits: RenderLimits = RenderLimits(), extra_args: list[str] | None = None
    ):
        self.guard = guard
        self.chromium = chromium
        self.limits = limits
        self.extra_args = list(extra_args or [])
        self.stats: dict = {
            "pages": 0,
            "rendered": 0,
            "failed": 0,
            "blocked": 0,
            "unsettled": 0,
            "abandoned": 0,  # pages whose context did not close in time (left to the browser's end)
            "limits": Counter(),
            "browser_cpu_seconds": None,
        }
        self.proxy: GuardedProxy | None = None
        self.browser_pid: int | None = None  # Chromium's main process, when found in /proc
        self._pages: Counter = Counter()
        self._spent: defaultdict[str, float] = defaultdict(float)
        self._home: tempfile.TemporaryDirectory | None = None
        self._playwright = None
        self._browser = None
        self._user_agent: str | None = None
        self._stray: set[asyncio.Task] = set()

    async def __aenter__(self) -> Renderer:
        from playwright.async_api import async_playwright

        try:
            self.proxy = await GuardedProxy(self.guard).start()
            self._home = tempfile.TemporaryDirectory(prefix="portal-index-render-", ignore_cleanup_errors=True)
            trust = await asyncio.to_thread(trust_options, self.guard, Path(self._home.name))
            args = [
                *browser_args(self.proxy.url),
                f"--js-flags=--max-old-space-size={self.limits.heap_mb}",
                *self.extra_args,
            ]
            before = _browser_pids()
            self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(
                executable_path=self.chromium, headless=True, args=args, **trust
            )
            started = _browser_pids() - before
            self.browser_pid = min(started) if len(started) == 1 else None
            self._user_agent = f"{await self._default_user_agent()} {USER_AGENT}"
        except BaseException:
            await self._close()
            raise
        return self

    async def __aexit__(self, *exc) -> None:
        await self._close()

    def browser_cpu_seconds(self) -> float | None:
        """CPU seconds of the browser's processes so far (None when its process was not found)."""
        return cpu_seconds(process_tree(self.browser_pid)) if self.browser_pid else None

    async def _default_user_agent(self) -> str:
        context = await self._browser.new_context()
        try:
            page = await context.new_page()
            return await page.evaluate("navigator.userAgent")
        finally:
            await context.close()

    async def _close(self) -> None:
        if self._browser is not None:
            with contextlib.suppress(Exception):
                self.stats["browser_cpu_seconds"] = self.browser_cpu_seconds()
            await _bounded(self._browser.close(), _CLOSE_SECONDS)
            self._browser = None
        if self._playwright is not None:
            await _bounded(self._playwright.stop(), _CLOSE_SECONDS)  # ends the driver, and with it the browser
            self._playwright = None
        if self.proxy is not None:
            await self.proxy.close()
        if self._home is not None:
            self._home.cleanup()
            self._home = None

    async def render(self, url: str, portal_id: str) -> Rendered:
        """The page's rendered DOM, or an error value; never raises (but for cancellation)."""
        start = time.monotonic()
        self.stats["pages"] += 1

        def result(error: str | None, final_url=None, html=None, heap=None) -> Rendered:
            if error is None:
                self.stats["rendered"] += 1
            else:
                self.stats["failed"] += 1
                if error.startswith("render_failed: ") and error.endswith(("_limit", "_too_large")):
                    self.stats["limits"][error.removeprefix("render_failed: ")] += 1
                elif error.startswith("blocked_"):
                    self.stats["blocked"] += 1
            ms = round((time.monotonic() - start) * 1000, 1)
            return Rendered(url, final_url, html, error, ms, heap)

        scheme = urlsplit(url).scheme
        if scheme not in SCHEMES:  # no file:, chrome:, data: or javascript: page
            return result(f"blocked_scheme: {scheme or 'none'} (only http and https)")
        if self._browser is None:
            return result("render_failed: RuntimeError: the renderer is not started")
        if self._pages[portal_id] >= self.limits.pages_per_portal:
            return result("render_failed: page_limit")
        left = self.limits.portal_seconds - self._spent[portal_id]
        if left <= 0:
            return result("render_failed: portal_time_limit")
        budget = min(self.limits.page_seconds, left)
        self._pages[portal_id] += 1
        crashed = asyncio.Event()  # the page's renderer died (V8 out of heap, or any crash)
        work = asyncio.create_task(self._render(url, start + budget, crashed))
        watch = asyncio.create_task(crashed.wait())
        try:
            done, _ = await asyncio.wait({work, watch}, timeout=budget, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
            if not work.done():  # cancelled; its context is closed (bounded) before we go on
                work.cancel()
                if not await _bounded(asyncio.shield(work), _CLOSE_SECONDS + 1):
                    self.stats["abandoned"] += 1
                    self._stray.add(work)  # a strong reference until it ends
                    work.add_done_callback(self._stray.discard)
            self._spent[portal_id] += time.monotonic() - start
        if crashed.is_set():
            return result("render_failed: memory_limit")
        if work not in done or work.cancelled():
            return result(
                "render_failed: " + ("time_limit" if budget >= self.limits.page_seconds else "portal_time_limit")
            )
        error = work.exception()
        if error is None:
            final_url, html, heap = work.result()
            return result(None, final_url, html, heap)
        if isinstance(error, _Failed):
            return result(str(error), heap=error.heap_mb)
        message = " ".join(str(error).split("\n", 1)[0].split())[:200]  # a page that fails to load is a value
        return result(f"render_failed: {type(error).__name__}: {message}")

    async def _render(self, url: str, deadline: float, crashed: asyncio.Event) -> tuple[str, str, float | None]:
        context = await self._browser.new_context(
            service_workers="block", accept_downloads=False, locale=LOCALE, user_agent=self._user_agent
        )
        try:
            page = await context.new_page()
            page.set_default_timeout((deadline - time.monotonic() + 2) * 1000)  # the caller's time limit comes first
            page.on("crash", lambda _: crashed.set())
            navigations = [url]
            refusals: list = []  # the page's own answers, and its scripts', that may be a bot wall's
            page.on(
                "response",
                lambda r: (
                    refusals.append(r)
                    if r.status in WALL_STATUSES
                    and r.request.resource_type in ("document", "xhr", "fetch")
                    and len(refusals) < 20
                    else None
                ),
            )
            page.on(
                "request",
                lambda r: (
                    navigations.append(r.url) if r.is_navigation_request() and r.frame == page.main_frame else None
                ),
            )
            try:
                response = await page.goto(url, wait_until="domcontentloaded")
            except Exception:
                refused = _refused_navigation(self.proxy, navigations)
                if refused:  # https (CONNECT refused): Chromium reports ERR_TUNNEL_CONNECTION_FAILED
                    raise _Failed(_blocked(refused)) from None
                raise
            if response is not None and response.headers.get(GUARD_HEADER.lower()):  # the proxy's 403 (plain http)
                refused = _refused_navigation(self.proxy, [*navigations, response.url])
                if refused:
                    raise _Failed(_blocked(refused))
            settle = min(self.limits.settle_seconds, deadline - time.monotonic() - _MARGIN)
            try:
                if settle <= 0:
                    raise TimeoutError
                await page.wait_for_load_state("networkidle", timeout=settle * 1000)
            except Exception:
                if crashed.is_set():
                    raise
                self.stats["unsettled"] += 1  # a page that never goes quiet is taken as it is
            refused = _refused_navigation(self.proxy, navigations)  # a script navigated where the guard forbids
            if refused:
                raise _Failed(_blocked(refused))
            for answer in refusals:  # the app's data behind a wall is no content either
                wall = wall_of(answer.status, answer.headers, await _body(answer))
                if wall is not None:
                    raise _Failed(wall.reason())
            heap = await self._heap_mb(context, page)
            if heap is not None and heap > self.limits.heap_mb:
                raise _Failed("render_failed: memory_limit", heap)
            if await page.evaluate(_DOM_LENGTH) > self.limits.max_dom_bytes:  # characters <= UTF-8 bytes
                raise _Failed("render_failed: dom_too_large")
            html = await page.content()
            if len(html.encode("utf-8", "surrogatepass")) > self.limits.max_dom_bytes:
                raise _Failed("render_failed: dom_too_large")
            return page.url, html, heap
        finally:
            await _bounded(context.close(), _CLOSE_SECONDS)

    @staticmethod
    async def _heap_mb(context, page) -> float | None:
        """The page's used JS heap in MB (CDP; the session goes with the context)."""
        session = await context.new_cdp_session(page)
        await session.send("Performance.enable")
        metrics = (await session.send("Performance.getMetrics"))["metrics"]
        used = next((m["value"] for m in metrics if m["name"] == "JSHeapUsedSize"), None)
        return round(used / 2**20, 2) if used is not None else None


WALL_STATUSES = (403, 429, 503)


async def _body(response) -> bytes:
    try:
        return (await response.body())[:65536]
    except Exception:  # gone with a navigation, or no body: the status and headers still tell
        return b""


async def _bounded(awaitable, seconds: float) -> bool:
    """Await for at most `seconds`, errors ignored; past that it is cancelled and left to end on its
    own (a call into a renderer stuck in a script may never return). True when it finished in time."""
    task = asyncio.ensure_future(awaitable)
    task.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieved: no "never retrieved" warning
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
    return bool(done)
