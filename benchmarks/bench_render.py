"""`make bench-render`: app-shell pages rendered in headless Chromium (portal_index/fetch/render.py).

A local HTTPS server (its certificate from a CA made here with trustme, trusted through the
guard's `ca_file`) serves a single-page-application portal: an empty `#app` and a script that
fetches `/api/page.json` and builds the menu, the search form and a list of procedures. The portals
`portal-N.example.gov.vn` are all mapped to it by the guard (`connect_to`, `mapped_only`), at most
`pages_per_portal` pages each. One `Renderer` renders `--pages` pages, `--concurrency` at a time
(default: the crawl's, `CrawlLimits.render_concurrency`), and we print pages per minute, CPU
seconds per page (Chromium's processes, those that exited included, from /proc utime+stime before
and after; the Playwright driver and this process apart) and the peak memory of the browser's
processes (RSS and PSS summed over them, sampled every 0.1 s).

    python -m benchmarks.bench_render [--pages 60] [--concurrency N] [--procedures 40]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import ssl
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SHELL = b"""<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Dich vu cong</title>
<script src="/static/app.js" defer></script></head>
<body><noscript>Vui long bat JavaScript.</noscript><div id="app"></div></body></html>"""

APP = b"""
fetch('/api/page.json').then(r => r.json()).then(data => {
  const el = (tag, attrs = {}, text = '') => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text) e.textContent = text;
    return e;
  };
  const nav = el('nav');
  for (const item of data.menu) nav.appendChild(el('a', {href: item.href}, item.title));
  const form = el('form', {role: 'search', action: '/tim-kiem'});
  form.append(el('input', {name: 'keyword', type: 'search'}), el('button', {}, 'Tim kiem'));
  const list = el('ul');
  for (const p of data.procedures) list.appendChild(el('li')).appendChild(el('a', {href: p.href}, p.title));
  document.getElementById('app').append(el('h1', {}, data.title), nav, form, list, el('a', {href: '/gop-y'}, 'Gop y'));
});
"""


def spa_page(procedures: int) -> bytes:
    return json.dumps(
        {
            "title": "Cổng Dịch vụ công",
            "menu": [{"href": f"/muc-{i}", "title": f"Mục {i}"} for i in range(10)],
            "procedures": [{"href": f"/thu-tuc/{i}", "title": f"Thủ tục hành chính số {i}"} for i in range(procedures)],
        },
        ensure_ascii=False,
    ).encode()


class SpaServer(ThreadingHTTPServer):
    """An app-shell portal over HTTPS on 127.0.0.1 at a random port."""

    daemon_threads = True

    def __init__(self, cert_file: str, procedures: int):
        super().__init__(("127.0.0.1", 0), _Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file)
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.bodies = {
            "/": (SHELL, "text/html; charset=utf-8"),
            "/static/app.js": (APP, "text/javascript"),
            "/api/page.json": (spa_page(procedures), "application/json"),
        }
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def handle_error(self, request, client_address):
        pass


class _Handler(BaseHTTPRequestHandler):
    server: SpaServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        body, ctype = self.server.bodies.get(self.path.split("?")[0], (b"not here", "text/plain"))
        self.send_response(200 if self.path.split("?")[0] in self.server.bodies else 404)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _memory_mb(pids: list[int]) -> tuple[float, float]:
    """RSS and PSS of the processes, summed, in MB."""
    rss = pss = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
    return rss / 1024, pss / 1024


class Sampler:
    """Peak memory of a process tree, sampled in a thread."""

    def __init__(self, pid: int, every: float = 0.1):
        from portal_index.fetch.render import process_tree

        self.pid, self.every, self.tree = pid, every, process_tree
        self.peak_rss = self.peak_pss = 0.0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = self.tree(self.pid)
            rss, pss = _memory_mb(pids)
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.peak_processes = max(self.peak_processes, len(pids))
            self._stop.wait(self.every)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(2)


async def run(args, chromium: str, work: Path) -> dict:
    import trustme

    from portal_index.fetch.netguard import Guard
    from portal_index.fetch.render import Renderer, RenderLimits, cpu_seconds, process_tree

    limits = RenderLimits()
    portals = [f"portal-{i}.example.gov.vn" for i in range(-(-args.pages // limits.pages_per_portal))]
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(work / "ca.pem"))
    ca.issue_cert(*portals).private_key_and_cert_chain_pem.write_to_path(str(work / "server.pem"))
    server = SpaServer(str(work / "server.pem"), args.procedures)
    port = server.server_address[1]
    guard = Guard(
        allow=("127.0.0.0/8",),
        allow_ports=(port,),
        connect_to=tuple((host, 443, "127.0.0.1", port) for host in portals),
        mapped_only=True,
        ca_file=str(work / "ca.pem"),
    )
    owners = [portals[i // limits.pages_per_portal] for i in range(args.pages)]
    targets = [(portal, f"https://{portal}/?p={i}") for i, portal in enumerate(owners)]
    me = os.getpid()
    sem = asyncio.Semaphore(args.concurrency)
    t0, own0 = time.perf_counter(), os.times()
    try:
        async with Renderer(guard, chromium, limits) as renderer:
            if renderer.browser_pid is None:
                raise RuntimeError("the browser's process was not found in /proc")
            started = time.perf_counter() - t0
            browser0 = cpu_seconds(process_tree(renderer.browser_pid))
            children0 = cpu_seconds([p for p in process_tree(me) if p != me])
            own1 = os.times()

            async def one(portal: str, url: str):
                async with sem:
                    return await renderer.render(url, portal)

            with Sampler(renderer.browser_pid) as memory:
                t1 = time.perf_counter()
                pages = await asyncio.gather(*(one(p, u) for p, u in targets))
                wall = time.perf_counter() - t1
            browser1 = cpu_seconds(process_tree(renderer.browser_pid))
            children1 = cpu_seconds([p for p in process_tree(me) if p != me])
            own2 = os.times()
    finally:
        server.shutdown()
        server.server_close()
    browser_cpu = browser1 - browser0
    return {
        "pages": pages,
        "portals": len(portals),
        "wall": wall,
        "start_wall": started,
        "start_cpu": browser0 + (own1.user + own1.system - own0.user - own0.system),
        "browser_cpu": browser_cpu,
        "driver_cpu": (children1 - children0) - browser_cpu,
        "own_cpu": own2.user + own2.system - own1.user - own1.system,
        "memory": memory,
        "stats": renderer.stats,
    }


def main() -> int:
    from portal_index.fetch.crawler import CrawlLimits

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=CrawlLimits().render_concurrency)
    parser.add_argument("--procedures", type=int, default=40, help="list items the app builds on each page")
    args = parser.parse_args()

    from portal_index.fetch.render import find_render_chromium

    chromium = find_render_chromium()  # chromium-headless-shell when installed; PORTAL_INDEX_CHROMIUM to choose
    if chromium is None:
        print("no Chromium: make chromium (Debian's chromium) or set PORTAL_INDEX_CHROMIUM", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        r = asyncio.run(run(args, chromium, Path(tmp)))
    pages, n = r["pages"], len(r["pages"])
    ok = [p for p in pages if p.error is None]
    errors = sorted({p.error for p in pages if p.error})
    total = r["browser_cpu"] + r["driver_cpu"] + r["own_cpu"]
    ms = sorted(p.ms for p in ok) or [0.0]
    m = r["memory"]
    print(
        f"render: {n} app-shell pages over {r['portals']} portals, concurrency {args.concurrency}, "
        f"{args.procedures} procedures a page; {os.cpu_count()} CPUs; {chromium}"
    )
    print(f"  browser start: {r['start_wall']:.1f} s wall, {r['start_cpu']:.1f} CPU s")
    print(
        f"  {len(ok)} rendered, {n - len(ok)} failed{': ' + '; '.join(errors) if errors else ''}; "
        f"{r['wall']:.1f} s = {len(ok) / r['wall'] * 60:.0f} rendered pages/min; "
        f"page time median {ms[len(ms) // 2]:.0f} ms, worst {ms[-1]:.0f} ms"
    )
    print(
        f"  CPU per page: {total / n:.2f} s (browser {r['browser_cpu'] / n:.2f} s, Playwright driver "
        f"{r['driver_cpu'] / n:.3f} s, this process {r['own_cpu'] / n:.3f} s)"
    )
    print(
        f"  browser memory peak: RSS {m.peak_rss:.0f} MB, PSS {m.peak_pss:.0f} MB "
        f"(summed over up to {m.peak_processes} processes)"
    )
    return 0 if len(ok) == n else 1


if __name__ == "__main__":
    sys.exit(main())
