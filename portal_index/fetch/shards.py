"""A crawl on every core: the portals split by politeness site into shards, one process each.

Without a politeness delay (the demo, the benchmark) the crawl is bound by the CPU of its Python
process: parsing, signal extraction, WARC writing and HTTP bookkeeping of each page. So a crawl
with rendering off runs on as many processes as the machine has CPUs (`CrawlLimits.processes`;
rendering stays in one process: the browser, not Python, is its bottleneck).

Politeness stays what the rules allow, whichever process crawls a site. A site (a host, or a
portal where many portals share one address: `throttle_by`) belongs to exactly one shard, so one
process keeps its concurrency cap, its request rate and its robots.txt Crawl-delay, as in a crawl
in one process. The global concurrency is split between the shards. A home page may move a portal
onto another host (http:// -> https://www.); the first shard to need a host that no portal has as
its base claims it (a file per site in a folder the shards share), and a portal whose home page
moved to a site another shard holds stops (`deferred`) and is crawled again, alone in this
process, once every shard is done.

The parent crawls the first shard itself and starts a process per other shard
(`python -m portal_index.fetch.shards`): the job arrives pickled on its stdin, and progress, log
lines and each portal's result as soon as its WARC file is closed come back on its stdout. A shard
that dies costs only its unfinished portals: they are recorded as `crashed` with a WARC file that
says so (`crawler.crashed_crawl`); the others' results stand. So does a child that sends a message
the parent cannot read (a frame over `MAX_FRAME`, bytes that do not unpickle) or one no shard sends
(`_check`), stays silent for longer than a portal may take (`portal_seconds` + `SILENCE_SLACK`), or
is still running after `portal_seconds` + twice that slack (a shard's portals all start at once and
each ends within its time limit and sends its result, so such a child is stuck): the parent stops
it and says why. A
child whose parent dies sees its stdin close and exits.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import resource
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

from portal_index.config import usable_cpus
from portal_index.core.child import exit_with_parent
from portal_index.fetch.crawler import (
    CrawlLimits,
    PortalCrawl,
    crashed_crawl,
    crawl_async,
    new_crawl_id,
    run_loop,
)

_FRAME = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024  # a message larger than this is not one a shard sends: the process is stopped
SILENCE_SLACK = 60.0  # seconds a shard may stay silent beyond a portal's time limit before it is stopped
CHILD = [sys.executable, "-P", "-m", "portal_index.fetch.shards"]  # -P: never modules in the current folder
Progress = Callable[[str, int], None]
Log = Callable[[str], None]


def site_of(portal_id: str, base_url: str, limits: CrawlLimits) -> str:
    """The politeness unit a portal's base URL falls in (`PortalCrawler.site`)."""
    return portal_id if limits.throttle_by == "portal" else urlsplit(base_url).netloc.lower()


def plan(targets: dict[str, str], limits: CrawlLimits) -> list[dict[str, str]]:
    """{portal_id: base_url} in shards: every portal of a site in one shard, shards of about as
    many portals each (largest sites first), at most one per CPU and per unit of concurrency.
    One shard when rendering is on or a single process is asked for."""
    wanted = 1 if limits.render else limits.processes or usable_cpus()
    by_site: dict[str, dict[str, str]] = {}
    for pid, url in sorted(targets.items()):
        by_site.setdefault(site_of(pid, url, limits), {})[pid] = url
    n = max(1, min(wanted, limits.concurrency, len(by_site)))
    if n == 1:
        return [dict(targets)]
    shards: list[dict[str, str]] = [{} for _ in range(n)]
    for _, portals in sorted(by_site.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        min(shards, key=len).update(portals)
    return shards


def shares(total: int, n: int) -> list[int]:
    """The global concurrency split between n shards (at least one request each)."""
    return [max(1, total // n + (i < total % n)) for i in range(n)]


class SiteClaims:
    """Which shard keeps each site's politeness: a file per site, named after it, holding the
    shard's number. Base sites are assigned before the shards start; other hosts are claimed by
    the first shard to need one (an atomic hard link, so a claim is never half written)."""

    def __init__(self, folder: Path, shard: int):
        self.folder, self.shard = Path(folder), shard

    def _path(self, site: str) -> Path:
        return self.folder / quote(site, safe="")

    def assign(self, site: str) -> None:
        self._path(site).write_text(str(self.shard))

    def may_use(self, site: str) -> bool:
        path = self._path(site)
        draft = self.folder / f".{self.shard}-{os.getpid()}-{threading.get_ident()}"
        draft.write_text(str(self.shard))
        try:
            os.link(draft, path)
            return True
        except FileExistsError:
            return path.read_text() == str(self.shard)
        finally:
            draft.unlink()


# -- the parent ---------------------------------------------------------------------------------------


async def crawl_sharded(
    shards: list[dict[str, str]], out_dir: Path, limits: CrawlLimits, crawl_id: str, progress: Progress, log: Log
) -> list[PortalCrawl]:
    """Crawl each shard at once (the first in this process), then the deferred portals."""
    out_dir.mkdir(parents=True, exist_ok=True)
    concurrency = shares(limits.concurrency, len(shards))
    with tempfile.TemporaryDirectory(prefix="portal-index-sites-") as folder:
        for i, shard in enumerate(shards):
            for pid, url in shard.items():
                SiteClaims(Path(folder), i).assign(site_of(pid, url, limits))
        jobs = [
            {
                "targets": shard,
                "out_dir": out_dir,
                "limits": limits,
                "crawl_id": crawl_id,
                "concurrency": concurrency[i],
                "claims": Path(folder),
                "shard": i,
            }
            for i, shard in enumerate(shards)
        ]
        children: list[_Child] = []
        own: list[PortalCrawl] = []
        try:
            for job in jobs[1:]:
                children.append(await _Child.start(job, limits.portal_seconds + SILENCE_SLACK))
            failure, *outcomes = await asyncio.gather(
                _own_shard(jobs[0], progress, log, own), *(c.relay(progress, log) for c in children)
            )
        finally:
            for child in children:
                await child.stop()
    results = {r.portal_id: r for r in own}
    usage = [_usage()]
    why = {0: failure or "no result"}
    for i, (child, (reported, child_usage)) in enumerate(zip(children, outcomes), start=1):
        results.update((r.portal_id, r) for r in reported)
        usage.append(child_usage)
        why[i] = f"crawl process {i} ended ({child.ended()})"
    for i, job in enumerate(jobs):
        for pid, url in sorted(job["targets"].items()):
            if pid not in results:  # its WARC file may stop mid-record: replaced by one that says so
                log(f"crawl of {pid} lost with its process: {why[i]}")
                warc = out_dir / f"{crawl_id}-{pid}.warc.gz"
                results[pid] = crashed_crawl(pid, url, warc, limits, crawl_id, why[i])
    log(
        f"crawl processes: {len(shards)}; CPU s: "
        + ", ".join(f"{u['cpu_s']:.1f}" if u else "?" for u in usage)
        + "; peak MB: "
        + ", ".join(f"{u['peak_mb']:.0f}" if u else "?" for u in usage)
    )
    deferred = {pid: url for s in shards for pid, url in s.items() if results[pid].stopped.startswith("deferred")}
    if deferred:
        log(f"crawled again after the other processes, their home pages being on another's site: {sorted(deferred)}")
        for r in await crawl_async(deferred, out_dir, limits, crawl_id, progress, log):
            results[r.portal_id] = r
    return [results[pid] for pid in sorted(results)]


async def _own_shard(job: dict, progress: Progress, log: Log, results: list[PortalCrawl]) -> str | None:
    """The first shard, in this process, its results added as they come; why it failed, or None."""
    try:
        await _crawl_job(job, progress, log, results.append)
        return None
    except Exception as e:  # the other shards' results must still be gathered
        return f"{type(e).__name__}: {str(e)[:200]}"


def _crawl_job(job: dict, progress: Progress, log: Log, done: Callable[[PortalCrawl], None]):
    claims = SiteClaims(job["claims"], job["shard"])
    return crawl_async(
        job["targets"],
        job["out_dir"],
        job["limits"],
        job["crawl_id"],
        progress,
        log,
        concurrency=job["concurrency"],
        may_use=claims.may_use,
        done=done,
    )


class _Child:
    """A shard's process, seen from the parent."""

    def __init__(self, proc: asyncio.subprocess.Process, job: dict, silence: float):
        self.proc, self.silence = proc, silence
        # every portal of a shard starts at once and ends within its time limit: the whole shard too
        self.lifetime = silence + SILENCE_SLACK
        self.deadline = asyncio.get_running_loop().time() + self.lifetime
        self.shard, self.targets = job["shard"], job["targets"]
        self.fault: str | None = None  # why the parent stopped it

    @classmethod
    async def start(cls, job: dict, silence: float) -> _Child:
        proc = await asyncio.create_subprocess_exec(
            *CHILD,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        proc.stdin.write(pickle.dumps(job))
        await proc.stdin.drain()  # stdin stays open: the child exits when it closes
        return cls(proc, job, silence)

    async def _read(self, n: int) -> bytes:
        left = self.deadline - asyncio.get_running_loop().time()
        try:
            return await asyncio.wait_for(self.proc.stdout.readexactly(n), max(0.0, min(self.silence, left)))
        except TimeoutError:
            if left <= self.silence:
                raise _Fault(f"was still running after {self.lifetime:.0f} s") from None
            raise _Fault(f"silent for {self.silence:.0f} s") from None

    async def _message(self) -> tuple[str, object]:
        (size,) = _FRAME.unpack(await self._read(_FRAME.size))
        if size > MAX_FRAME:
            raise _Fault(f"sent a message of {size} bytes (at most {MAX_FRAME})")
        data = await self._read(size)
        try:
            kind, value = pickle.loads(data)
        except Exception as e:
            raise _Fault(f"sent a message that could not be read ({type(e).__name__})") from None
        return kind, value

    async def relay(self, progress: Progress, log: Log) -> tuple[list[PortalCrawl], dict | None]:
        """Pass on the child's progress and log lines; its results and CPU use, once it ends (or
        once it is stopped for a message it should not send, or for its silence)."""
        results, usage = [], None
        while True:
            try:
                kind, value = await self._message()
                _check(kind, value, self.targets)
            except asyncio.IncompleteReadError:  # the child closed its end: it is done, or dead
                break
            except _Fault as e:
                self.fault = str(e)
                log(f"crawl process {self.shard} stopped: it {self.fault}")
                if self.proc.returncode is None:
                    self.proc.kill()
                break
            if kind == "fetches":  # checked: the parent's own callbacks raise as they would
                for errors, n in enumerate(value):
                    for _ in range(n):
                        progress("fetch", errors)
            elif kind == "portal":
                progress("portal", 0)
            elif kind == "log":
                log(value)
            elif kind == "result":
                results.append(value)
            elif kind == "usage":
                usage = value
        await self.proc.wait()
        return results, usage

    def ended(self) -> str:
        if self.fault:
            return f"stopped: it {self.fault}"
        code = self.proc.returncode
        return f"killed by signal {-code}" if code is not None and code < 0 else f"exit status {code}"

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        self.proc.stdin.close()


class _Fault(Exception):
    """A shard's process broke the protocol or went silent."""


def _check(kind: str, value, targets: dict[str, str]) -> None:
    """A message as a shard sends it, or `_Fault`."""
    if kind == "fetches":
        ok = isinstance(value, list) and len(value) == 2 and all(type(n) is int and 0 <= n <= 100_000 for n in value)
    elif kind == "portal":
        ok = value is None
    elif kind == "log":
        ok = isinstance(value, str)
    elif kind == "result":
        ok = isinstance(value, PortalCrawl) and value.portal_id in targets and isinstance(value.stopped, str)
        if not ok:
            raise _Fault("sent a result for a portal not in its shard, or not a portal's result")
    elif kind == "usage":
        ok = isinstance(value, dict) and all(isinstance(value.get(k), int | float) for k in ("cpu_s", "peak_mb"))
    else:
        ok = False
    if not ok:
        raise _Fault(f"sent a {kind!r} message it does not send" if isinstance(kind, str) else "sent no message")


def _usage() -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_s": own.ru_utime + own.ru_stime, "peak_mb": own.ru_maxrss / 1024}


# -- a child ------------------------------------------------------------------------------------------


class _Channel:
    """Messages to the parent: length-prefixed pickles on what was this process's stdout. Fetch
    progress is sent in batches (a few a second), the rest at once."""

    def __init__(self, fd: int):
        self.fd = fd
        self.fetches = [0, 0]  # without, with an error
        self.sent = time.monotonic()

    def send(self, kind: str, value=None) -> None:
        data = pickle.dumps((kind, value))
        view = memoryview(_FRAME.pack(len(data)) + data)
        while view:
            view = view[os.write(self.fd, view) :]

    def flush(self) -> None:
        if any(self.fetches):
            self.send("fetches", self.fetches)
            self.fetches = [0, 0]
        self.sent = time.monotonic()

    def progress(self, kind: str, errors: int) -> None:
        if kind == "fetch":
            self.fetches[1 if errors else 0] += 1
            if time.monotonic() - self.sent > 0.25:
                self.flush()
        else:
            self.flush()
            self.send(kind)

    def result(self, result: PortalCrawl) -> None:
        self.flush()
        self.send("result", result)


def crawl(
    targets: dict[str, str],
    out_dir: Path,
    limits: CrawlLimits = CrawlLimits(),
    crawl_id: str | None = None,
    progress: Callable[[str, int], None] | None = None,
    log: Callable[[str], None] = print,
) -> list[PortalCrawl]:
    """Crawl {portal_id: base_url} into one WARC per portal under `out_dir`: in this process, or
    split by site over several (`limits.processes`, `portal_index.fetch.shards`)."""
    crawl_id, progress = crawl_id or new_crawl_id(), progress or (lambda kind, n: None)
    shards = plan(targets, limits)
    if len(shards) > 1:
        return run_loop(crawl_sharded(shards, out_dir, limits, crawl_id, progress, log))
    return run_loop(crawl_async(targets, out_dir, limits, crawl_id, progress, log))


def main() -> int:
    channel = _Channel(os.dup(1))
    os.dup2(2, 1)  # anything printed goes to stderr, never into the channel
    job = pickle.load(sys.stdin.buffer)
    exit_with_parent(0)
    run_loop(_crawl_job(job, channel.progress, lambda line: channel.send("log", line), channel.result))
    channel.flush()
    channel.send("usage", _usage())
    return 0


if __name__ == "__main__":
    sys.exit(main())
