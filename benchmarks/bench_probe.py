"""`make bench-probe`: our probe's timings beside curl's for the same URLs, in the same run.

The simulator runs in its own process (portal home pages answer after 5 to 1500 ms). For each URL,
one probe of ours and one `curl -w` are taken back to back, three rounds; the differences of TTFB
(curl's time_starttransfer) and total (time_total) are printed as median and worst. Then
`probe_all` probes every URL with 16 workers and the probes per second are printed.

    python -m benchmarks.bench_probe [--portals 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CURL_FORMAT = "%{time_namelookup} %{time_connect} %{time_appconnect} %{time_starttransfer} %{time_total}"


def curl(url: str) -> dict:
    out = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "--max-time", "30", "-w", CURL_FORMAT, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    dns, connect, _, ttfb, total = (float(x) * 1000 for x in out)
    return {"dns_ms": dns, "connect_ms": connect - dns, "ttfb_ms": ttfb, "total_ms": total}


def summary(label: str, diffs: list[float]) -> str:
    worst = max(diffs, key=abs)
    median = statistics.median(diffs)
    return f"  {label:<6} ours - curl: median {median:+6.2f} ms, worst {worst:+7.2f} ms ({len(diffs)} pairs)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--portals", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("curl") is None:
        print("curl is not installed: apt-get install curl", file=sys.stderr)
        return 2

    from portal_index.demo.simulator import pick, profile
    from portal_index.fetch.netguard import Guard
    from portal_index.fetch.prober import probe, probe_all

    sim = subprocess.Popen(
        [sys.executable, "-m", "portal_index.demo.simulator"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    base = sim.stdout.readline().split()[-1]
    guard = Guard(allow=("127.0.0.1/32",))
    portal_ids = pick(lambda p: p.readable, args.portals)
    urls = {pid: f"{base}/{pid}/" for pid in portal_ids}
    ttfb, total = [], []
    for _ in range(args.rounds):
        for pid, url in urls.items():
            ours = probe(pid, url, guard=guard)
            theirs = curl(url)
            ttfb.append(ours["ttfb_ms"] - theirs["ttfb_ms"])
            total.append(ours["total_ms"] - theirs["total_ms"])
    delays = sorted({profile(p).ttfb_ms for p in portal_ids})
    print(f"simulator {base}: {len(urls)} home pages (server delays {delays} ms), {args.rounds} rounds")
    print(summary("TTFB", ttfb))
    print(summary("total", total))
    start = time.perf_counter()
    rows = probe_all(urls, rounds=args.rounds, workers=16, guard=guard, log=lambda m: None)
    seconds = time.perf_counter() - start
    print(
        f"  probe_all: {len(rows)} probes in {seconds:.1f} s = {len(rows) / seconds:.1f} probes/s "
        f"(16 workers; the slowest home page answers after {max(delays)} ms)"
    )
    sim.stdin.close()
    sim.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
