"""The deep accessibility probe: a portal's key pages in headless Chromium, audited with axe-core.

Debian's `chromium` is driven by Playwright (no browser download: `executable_path`), axe-core
(bundled by axe-playwright-python) runs the WCAG 2.1 A and AA rules, and two buffered
PerformanceObservers read Largest Contentful Paint and Cumulative Layout Shift. Each page has a
hard time limit: navigation, audit and measurements together (`page_seconds`); a page over it, or
one that fails to load, is a row with its error, never an exception.

Every connection the browser makes goes through the private-address guard, as the crawler's do:
Chromium is started with a forward proxy of our own for every scheme (`portal_index.fetch.proxy`,
on loopback, one per audit), loopback included in what it proxies, its own name resolution
switched off, and no QUIC or non-proxied WebRTC UDP (`browser_args`). The proxy resolves each host,
vets every address with the guard, and refuses the rest with a 403; a page whose navigation the
guard refused is a row with `error: blocked_address: …`. In demo and test mode the browser trusts the
simulator's CA (`portal_index.fetch.chromium_trust`), with full verification.

Rows: `a11y_audits`, one per page (status, rules passed and violated, LCP, CLS, error), and
`a11y_violations`, one per violated rule on a page (rule, impact, number of elements).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from portal_index.config import chromium_binary
from portal_index.fetch.chromium_trust import trust_options
from portal_index.fetch.netguard import SCHEMES, Guard
from portal_index.fetch.proxy import GUARD_HEADER, GuardedProxy

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# after the page's load, at most this long for the network to go quiet (no request for 500 ms): a page
# whose scripts fetch its content and draw it is audited once drawn, not as its empty shell, however
# busy the machine (the rendering of app-shell pages waits the same way: render.RenderLimits)
SETTLE_SECONDS = 5.0
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-domain-reliability",
    # QUIC (HTTP/3) is UDP, which an HTTP proxy does not carry: Chromium would send it directly
    "--disable-quic",
    # WebRTC's ICE (STUN, TURN, host candidates) only over TCP through the proxy, never direct UDP
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
]


def browser_args(proxy_url: str) -> list[str]:
    """The switches that put every connection of Chromium through the proxy at `proxy_url`."""
    proxy_host = urlsplit(proxy_url).hostname
    return CHROMIUM_ARGS + [
        f"--proxy-server={proxy_url}",  # every scheme: http, https, ws, wss
        # Chromium bypasses any proxy for localhost and loopback addresses unless told not to
        "--proxy-bypass-list=<-loopback>",
        # Chromium resolves no name itself (DNS prefetch, a bypass, a fallback): the proxy does it
        f"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE {proxy_host}",
    ]


_VITALS = """() => new Promise(resolve => {
  let lcp = null, cls = 0;
  new PerformanceObserver(list => { for (const e of list.getEntries()) lcp = e.startTime; })
    .observe({type: 'largest-contentful-paint', buffered: true});
  new PerformanceObserver(list => { for (const e of list.getEntries()) if (!e.hadRecentInput) cls += e.value; })
    .observe({type: 'layout-shift', buffered: true});
  setTimeout(() => resolve({lcp, cls}), 300);
})"""


def find_chromium() -> str | None:
    """`PORTAL_INDEX_CHROMIUM`, else Debian's chromium on PATH."""
    return chromium_binary()


def _refused_navigation(proxy: GuardedProxy, urls: list[str]) -> str | None:
    """Why the guard refused the page's navigation (the URL asked for, or a redirect of it), if it did."""
    for url in reversed(urls):
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
        except ValueError:
            continue
        reason = proxy.refused(parts.hostname or "", port)
        if reason:
            return reason
    return None


def _blocked(reason: str) -> str:
    return "blocked_address: " + reason.removeprefix("blocked address: ")


async def _audit_page(browser, axe, portal_id: str, url: str, proxy: GuardedProxy) -> tuple[dict, list[dict]]:
    row = {"portal_id": portal_id, "url": url, "audited_at": datetime.now(UTC).isoformat()}
    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:  # no file:, chrome: or javascript: page from a registry
        row["error"] = f"blocked_scheme: {scheme or 'none'} (only http and https)"
        return row, []
    context = await browser.new_context()
    try:
        page = await context.new_page()
        navigations = [url]
        page.on(
            "request",
            lambda r: navigations.append(r.url) if r.is_navigation_request() and r.frame == page.main_frame else None,
        )
        refused = None
        try:
            response = await page.goto(url, wait_until="load")
        except Exception:
            refused = _refused_navigation(proxy, navigations)
            if refused:  # https (CONNECT refused): Chromium reports ERR_TUNNEL_CONNECTION_FAILED
                row["error"] = _blocked(refused)
                return row, []
            raise
        if response and response.headers.get(GUARD_HEADER.lower()):  # a 403 of the proxy's (plain http)
            refused = _refused_navigation(proxy, [*navigations, response.url])  # not a site's own header
        if refused:
            row["error"] = _blocked(refused)
            return row, []
        row["status"] = response.status if response else None
        with contextlib.suppress(Exception):  # a page that never goes quiet is audited as it is then
            await page.wait_for_load_state("networkidle", timeout=SETTLE_SECONDS * 1000)
        vitals = await page.evaluate(_VITALS)
        row["lcp_ms"] = round(vitals["lcp"], 1) if vitals.get("lcp") is not None else None
        row["cls"] = round(vitals["cls"], 4)
        results = (
            await axe.run(
                page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
            )
        ).response
        violations = [
            {
                "portal_id": portal_id,
                "url": url,
                "audited_at": row["audited_at"],
                "rule_id": v["id"],
                "impact": v.get("impact"),
                "nodes": len(v.get("nodes", [])),
            }
            for v in results["violations"]
        ]
        row.update(
            rules_passed=len(results["passes"]),
            rules_violated=len(violations),
            axe_version=results.get("testEngine", {}).get("version"),
        )
        return row, violations
    finally:
        await context.close()


async def audit_async(
    targets: list[tuple[str, str]],
    chromium: str,
    page_seconds: float = 30.0,
    concurrency: int = 2,
    guard: Guard | None = None,
    log=print,
) -> dict[str, list[dict]]:
    from axe_playwright_python.async_playwright import Axe
    from playwright.async_api import async_playwright

    axe = Axe()
    guard = guard or Guard()
    audits: list[dict] = []
    violations: list[dict] = []
    sem = asyncio.Semaphore(concurrency)
    async with GuardedProxy(guard) as proxy, async_playwright() as pw:
        home = tempfile.TemporaryDirectory(prefix="portal-index-audit-")  # the browser's HOME (its trust store)
        trust = await asyncio.to_thread(trust_options, guard, Path(home.name))
        browser = await pw.chromium.launch(
            executable_path=chromium, headless=True, args=browser_args(proxy.url), **trust
        )

        async def one(portal_id: str, url: str) -> None:
            async with sem:
                try:
                    row, found = await asyncio.wait_for(_audit_page(browser, axe, portal_id, url, proxy), page_seconds)
                except TimeoutError:
                    row, found = {"portal_id": portal_id, "url": url, "error": "time_limit"}, []
                except Exception as e:  # a page that fails to load or to audit is a row, not a crash
                    row, found = (
                        {"portal_id": portal_id, "url": url, "error": f"{type(e).__name__}: {str(e)[:160]}"},
                        [],
                    )
                row.setdefault("audited_at", datetime.now(UTC).isoformat())
                audits.append(row)
                violations.extend(found)

        try:
            await asyncio.gather(*(one(pid, url) for pid, url in targets))
        finally:
            await browser.close()
            home.cleanup()
    failed = sum(1 for r in audits if r.get("error"))
    log(
        f"accessibility audit: {len(audits)} pages, {len(violations)} violated rules, {failed} pages failed, "
        f"{proxy.stats['blocked']} connections blocked by the guard"
        + "".join(f"\n  blocked {r.host}:{r.port}: {r.reason}" for r in proxy.refusals[:10])
    )
    return {
        "a11y_audits": sorted(audits, key=lambda r: (r["portal_id"], r["url"])),
        "a11y_violations": sorted(violations, key=lambda r: (r["portal_id"], r["url"], r["rule_id"])),
    }


def audit(
    targets: list[tuple[str, str]],
    chromium: str | None = None,
    page_seconds: float = 30.0,
    concurrency: int = 2,
    guard: Guard | None = None,
    log=print,
) -> dict[str, list[dict]]:
    """Audit [(portal_id, url)] in headless Chromium; raises only when no Chromium is found."""
    chromium = chromium or find_chromium()
    if not chromium:
        raise FileNotFoundError("no Chromium: install Debian's `chromium` or set PORTAL_INDEX_CHROMIUM")
    return asyncio.run(audit_async(targets, chromium, page_seconds, concurrency, guard, log))
