"""The deep accessibility probe: a portal's key pages in headless Chromium, audited with axe-core.

Debian's `chromium` is driven by Playwright (no browser download: `executable_path`), axe-core
(bundled by axe-playwright-python) runs the WCAG 2.1 A and AA rules, and two buffered
PerformanceObservers read Largest Contentful Paint and Cumulative Layout Shift. Each page has a
hard time limit: navigation, audit and measurements together (`page_seconds`); a page over it, or
one that fails to load, is a row with its error, never an exception. Every request the browser
makes goes through the private-address guard (a Playwright route), as the crawler's do.

Rows: `a11y_audits`, one per page (status, rules passed and violated, LCP, CLS, error), and
`a11y_violations`, one per violated rule on a page (rule, impact, number of elements).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from urllib.parse import urlsplit

import anyio

from portal_index.config import chromium_binary
from portal_index.fetch.netguard import BlockedAddress, Guard, vetted_addresses

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
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


def _route_guard(guard: Guard):
    """A Playwright route handler: the browser's requests (subresources, redirects, scripts' fetches)
    go through the private-address guard too; refused ones are aborted."""

    async def handle(route):
        parts = urlsplit(route.request.url)
        if parts.scheme in ("data", "blob", "about"):
            return await route.continue_()
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return await route.abort("blockedbyclient")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            vetted_addresses(guard, parts.hostname, port, await anyio.getaddrinfo(parts.hostname, port))
        except (BlockedAddress, OSError):
            return await route.abort("blockedbyclient")
        await route.continue_()

    return handle


async def _audit_page(browser, axe, portal_id: str, url: str, guard: Guard) -> tuple[dict, list[dict]]:
    row = {"portal_id": portal_id, "url": url, "audited_at": datetime.now(UTC).isoformat()}
    context = await browser.new_context()
    try:
        if guard.block_private:
            await context.route("**/*", _route_guard(guard))
        page = await context.new_page()
        response = await page.goto(url, wait_until="load")
        row["status"] = response.status if response else None
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
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)

        async def one(portal_id: str, url: str) -> None:
            async with sem:
                try:
                    row, found = await asyncio.wait_for(_audit_page(browser, axe, portal_id, url, guard), page_seconds)
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
    failed = sum(1 for r in audits if r.get("error"))
    log(f"accessibility audit: {len(audits)} pages, {len(violations)} violated rules, {failed} pages failed")
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
