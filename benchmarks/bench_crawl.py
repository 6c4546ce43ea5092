"""`make bench-crawl`: our crawler (extraction on) beside a plain Scrapy spider and a raw client.

The simulator runs in its own process with large sites (`--articles`, 20 a listing page), and each
crawler runs in its own process, one after the other, so that CPU seconds and peak memory
(`os.wait4` rusage) are each one's own. All three get the same concurrency (Scrapy's default:
8 requests to one host, which the simulator is) and no politeness delay.

- ours: `portal_index.fetch.crawler`, writing WARC files and extracting signals as it crawls (the
  same extraction the loader replays from the WARC later; its time is not counted here), rendering
  off as in the pipeline's HTTP pass, on as many processes as it chooses (one per CPU): the
  concurrency is the total of all of them, the CPU seconds those of all of them (`os.wait4` counts
  the children a process waited for), the peak memory the largest one's (each one's is printed);
- scrapy: a minimal spider with Scrapy's default settings (only the log level raised to INFO),
  following every link under the portal's path prefix;
- raw: an asyncio HTTP/1.1 keep-alive client fetching the list of URLs our crawler fetched: the
  simulator's ceiling on this machine.

    python -m benchmarks.bench_crawl [--portals 50] [--articles 200] [--concurrency 8] [--processes 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]


# -- the three clients, each run as `python -m benchmarks.bench_crawl --client NAME ...` --------------


def client_ours(targets: dict[str, str], work: Path, concurrency: int, processes: int = 0) -> dict:
    from portal_index.fetch.crawler import CrawlLimits, demo_limits
    from portal_index.fetch.shards import crawl

    limits = demo_limits(
        CrawlLimits(
            max_pages=400,
            max_depth=50,
            concurrency=concurrency,
            per_site=concurrency,
            portal_seconds=600,
            render=False,  # the static path, as the pipeline's HTTP pass crawls it (no browser started)
            processes=processes,  # 0: the crawler's choice, one per CPU
        )
    )
    lines: list[str] = []
    start = time.perf_counter()
    results = crawl(targets, work / "warc", limits, log=lines.append)  # signals extracted as it goes
    seconds = time.perf_counter() - start
    return {
        "pages": sum(r.fetches for r in results),
        "seconds": seconds,
        "signals": sum(r.signals for r in results),
        "warc_mb": sum(r.warc.stat().st_size for r in results) / 1e6,
        # "crawl processes: N; CPU s: ...; peak MB: ..." when the crawl ran on several processes
        "processes": next((line for line in lines if line.startswith("crawl processes:")), "crawl processes: 1"),
    }


def fetched_urls(work: Path) -> list[str]:
    """The URLs our crawler got an answer from, read back from its WARC files (outside any measurement)."""
    from portal_index.parse.portal_signals import extract_warc

    return [
        p["url"]
        for warc in sorted((work / "warc").glob("*.warc.gz"))
        for p in extract_warc(warc)["crawl_pages"]
        if p["status"]
    ]


def client_scrapy(targets: dict[str, str], work: Path, concurrency: int) -> dict:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    class PortalSpider(scrapy.Spider):
        name = "portals"
        start_urls = sorted(targets.values())

        def parse(self, response):
            prefix = next(u for u in self.start_urls if response.url.startswith(u))
            for href in response.css("a::attr(href)").getall():
                url = response.urljoin(href)
                if url.startswith(prefix):
                    yield scrapy.Request(url, callback=self.parse)

    stats = {}
    process = CrawlerProcess(settings={"LOG_LEVEL": "INFO"})
    crawler = process.create_crawler(PortalSpider)
    start = time.perf_counter()
    process.crawl(crawler)
    process.start()
    seconds = time.perf_counter() - start
    stats = crawler.stats.get_stats()
    return {
        "pages": stats.get("response_received_count", 0),
        "seconds": seconds,
        "concurrency": f"Scrapy defaults: {crawler.settings.getint('CONCURRENT_REQUESTS')} in all, "
        f"{crawler.settings.getint('CONCURRENT_REQUESTS_PER_DOMAIN')} per domain",
    }


def client_raw(targets: dict[str, str], work: Path, concurrency: int) -> dict:
    urls = json.loads((work / "urls.json").read_text())
    host = urlsplit(urls[0]).hostname
    port = urlsplit(urls[0]).port
    queue: asyncio.Queue = asyncio.Queue()
    for url in urls:
        parts = urlsplit(url)
        queue.put_nowait(parts.path + (f"?{parts.query}" if parts.query else ""))
    done = 0

    async def worker():
        nonlocal done
        reader, writer = await asyncio.open_connection(host, port)
        while not queue.empty():
            path = queue.get_nowait()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            await writer.drain()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            done += 1
        writer.close()

    async def main():
        await asyncio.gather(*(worker() for _ in range(concurrency)))

    start = time.perf_counter()
    asyncio.run(main())
    return {"pages": done, "seconds": time.perf_counter() - start}


CLIENTS = {"raw": client_raw, "scrapy": client_scrapy, "ours": client_ours}


# -- the harness ---------------------------------------------------------------------------------------


def measure(name: str, targets_file: Path, work: Path, concurrency: int, processes: int = 0) -> dict:
    out = work / f"{name}.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_crawl",
            "--client",
            name,
            "--targets",
            str(targets_file),
            "--work",
            str(work),
            "--concurrency",
            str(concurrency),
            "--processes",
            str(processes),
        ],
        cwd=ROOT,
        stdout=open(out, "w"),
        stderr=open(work / f"{name}.log", "w"),
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed; see {work / (name + '.log')}")
    result = json.loads(out.read_text())
    result.update(cpu_s=usage.ru_utime + usage.ru_stime, peak_mb=usage.ru_maxrss / 1024)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--portals", type=int, default=50)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--processes", type=int, default=0, help="our crawler's processes (0: one per CPU)")
    parser.add_argument("--client", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--targets", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.client:  # inside a measured child process
        targets = json.loads(Path(args.targets).read_text())
        extra = {"processes": args.processes} if args.client == "ours" else {}
        print(json.dumps(CLIENTS[args.client](targets, Path(args.work), args.concurrency, **extra)))
        return 0

    from portal_index.demo.simulator import pick

    portal_ids = pick(lambda p: p.readable, args.portals)
    sim = subprocess.Popen(
        [sys.executable, "-m", "portal_index.demo.simulator", "--articles", str(args.articles)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    base = sim.stdout.readline().split()[-1]
    with tempfile.TemporaryDirectory(prefix="bench-crawl-") as tmp:
        work = Path(tmp)
        targets_file = work / "targets.json"
        targets_file.write_text(json.dumps({pid: f"{base}/{pid}/" for pid in portal_ids}))
        print(
            f"simulator {base}: {len(portal_ids)} portals, {args.articles} articles each; "
            f"concurrency {args.concurrency}; {os.cpu_count()} CPUs",
            flush=True,
        )
        rows = {}
        for name in ("ours", "scrapy", "raw"):  # ours first: the raw client replays its URL list
            rows[name] = measure(name, targets_file, work, args.concurrency, args.processes)
            if name == "ours":
                (work / "urls.json").write_text(json.dumps(fetched_urls(work)))
            r = rows[name]
            print(
                f"  {name:<7} {r['pages']:>6} pages  {r['seconds']:7.1f} s  {r['pages'] / r['seconds']:7.0f} pages/s"
                f"  {r['cpu_s']:6.1f} CPU s  {r['cpu_s'] / r['pages'] * 1000:5.2f} CPU ms/page"
                f"  peak {r['peak_mb']:6.0f} MB",
                flush=True,
            )
    sim.stdin.close()
    sim.wait(timeout=10)
    ours, scrapy_ = rows["ours"], rows["scrapy"]
    ratio = (ours["pages"] / ours["seconds"]) / (scrapy_["pages"] / scrapy_["seconds"])
    print(
        f"ours / scrapy pages/s: {ratio:.2f} (target >= 1.50); ours wrote {ours['warc_mb']:.0f} MB of WARC "
        f"and extracted {ours['signals']} signal rows; {scrapy_['concurrency']}"
    )
    raw = rows["raw"]
    ceiling = (ours["pages"] / ours["seconds"]) / (raw["pages"] / raw["seconds"])
    print(f"ours / raw (the loopback ceiling) pages/s: {ceiling:.2f}; ours ran on {ours['processes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
