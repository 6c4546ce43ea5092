"""`make bench-probe`: our probe's timings beside curl's for the same URLs, in the same run.

The simulator runs in its own process (portal home pages answer after 5 to 1500 ms). The URLs are
the portals' own https URLs, as the demo probes them: our probe goes through the guard that maps
each host to the simulator's TLS port and trusts only its CA, curl gets the same mapping
(`--connect-to`) and the same CA (`--cacert`). `--plain` uses the loopback path over plain http
instead (no TLS: our HTTP client's own overhead).

Like with like:

- Both are warm, the same way: each curl call first fetches the portal's robots.txt (no delay),
  then the measured page over a new connection (`Connection: close`, `--no-sessionid`: a full TCP
  and TLS handshake), and only the second transfer's `-w` figures count (a cold curl pays its own
  start-up, OpenSSL's initialisation and loading the CA file, inside its TLS phase); our process
  probes the portal's robots.txt too, uncounted, right before its measured probe (it has just waited,
  idle, for a curl process: a TLS handshake right after that wait took 0.7 ms more than curl's in
  the median, one right after another of ours 0.1 to 0.2 ms less).
- Each URL is measured three times in a row, ours and curl twice (A and B), in an order that
  cycles through all six orders, so no one goes first more often. TTFB (curl's
  time_starttransfer) and total (time_total) are compared per URL: ours - curl A, and curl B -
  curl A, the noise floor: what two runs of the same client differ by on this machine, now.
- The machine is shared: the load average and the share of CPU time the machine was busy are
  printed, and each difference as median, 95th percentile and worst.

Then `probe_all` probes every URL with 16 workers (probes per second), alternating by round with 16
curl processes at a time on the same URLs: each one's TTFBs beside its own serial median for the
URL, which is what concurrency adds (the simulator is one Python process; ours one process too).

    python -m benchmarks.bench_probe [--portals 40] [--rounds 3] [--plain] [--json FILE]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CURL_FORMAT = (
    "%{time_namelookup} %{time_connect} %{time_appconnect} %{time_pretransfer} %{time_starttransfer} "
    "%{time_total} %{http_code} %{num_connects}\\n"
)
ORDERS = list(itertools.permutations(("ours", "curl_a", "curl_b")))


def serve() -> None:
    """The simulator, in the process `main` starts: prints its base URL, TLS port and guard as JSON."""
    from portal_index.demo.simulator import Simulator

    sim = Simulator().start()
    guard = sim.guard()
    fields = ("block_private", "allow", "allow_ports", "connect_to", "mapped_only", "ca_file")
    print(json.dumps({"base": sim.base_url, "tls_port": sim.tls_port, **{f: getattr(guard, f) for f in fields}}))
    sys.stdout.flush()
    sys.stdin.read()  # until the benchmark closes it
    sim.stop()


def curl(url: str, warm_url: str, options: list[str]) -> dict:
    """curl's phases (ms) for `url`, measured after a first transfer (`warm_url`) in the same process."""
    out = subprocess.run(
        ["curl", "-s", "--max-time", "30", "-H", "Connection: close", "--no-sessionid", "-w", CURL_FORMAT]
        + options
        + ["-o", "/dev/null", warm_url, "-o", "/dev/null", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]
    dns, connect, tls, pre, ttfb, total, status, connects = out.split()
    assert status == "200" and connects == "1", out  # a fresh connection, as our probe's
    dns, connect, tls, pre, ttfb, total = (float(x) * 1000 for x in (dns, connect, tls, pre, ttfb, total))
    return {
        "dns_ms": dns,
        "connect_ms": connect - dns,
        "tls_ms": tls - connect if tls else None,
        "wait_ms": ttfb - pre,  # request sent -> first byte
        "ttfb_ms": ttfb,
        "total_ms": total,
    }


def ours(portal_id: str, url: str, warm_url: str, guard, collections: list) -> dict:
    """Our probe's phases (ms) for `url`, measured right after a probe of `warm_url` in this process,
    as curl's are after its first transfer: this process has just waited, idle, for a curl."""
    from portal_index.fetch.prober import probe

    probe(portal_id, warm_url, guard=guard, url_kind="robots")
    before = len(collections)
    row = probe(portal_id, url, guard=guard)
    assert row["status"] == 200 and not row["error"], row
    pre = (row["dns_ms"] or 0) + (row["connect_ms"] or 0) + (row.get("tls_ms") or 0)
    return {**{k: row.get(k) for k in ("dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "total_ms")},
            "wait_ms": row["ttfb_ms"] - pre, "gc": len(collections) - before}  # fmt: skip


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def line(label: str, diffs: list[float]) -> str:
    return (
        f"  {label:<26} median {statistics.median(diffs):+7.2f}  p95 {pct(diffs, 0.95):+7.2f}  "
        f"worst {max(diffs):+8.2f} ms  (best {min(diffs):+8.2f}; {len(diffs)} pairs)"
    )


def busy_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot, from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--portals", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--plain", action="store_true", help="the loopback path over plain http (no TLS)")
    parser.add_argument("--json", type=Path, help="write every measurement to this file")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return 0
    if shutil.which("curl") is None:
        print("curl is not installed: apt-get install curl", file=sys.stderr)
        return 2

    from portal_index.demo.simulator import pick, portal_hosts, profile
    from portal_index.fetch.netguard import Guard
    from portal_index.fetch.prober import probe_all

    sim = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench_probe", "--serve"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    info = json.loads(sim.stdout.readline())
    hosts = {portal_id: host for host, portal_id in portal_hosts().items()}
    portal_ids = pick(lambda p: p.readable and p.tls == "valid", args.portals)
    if args.plain:
        guard = Guard(allow=("127.0.0.1/32",))
        urls = {pid: f"{info['base']}/{pid}/" for pid in portal_ids}
        warm = {pid: f"{info['base']}/robots.txt" for pid in portal_ids}
        options: dict[str, list[str]] = {pid: [] for pid in portal_ids}
    else:
        guard = Guard(
            block_private=info["block_private"],
            allow=tuple(info["allow"]),
            allow_ports=tuple(info["allow_ports"]),
            connect_to=tuple(tuple(route) for route in info["connect_to"]),
            mapped_only=info["mapped_only"],
            ca_file=info["ca_file"],
        )
        urls = {pid: f"https://{hosts[pid]}/" for pid in portal_ids}
        warm = {pid: f"https://{hosts[pid]}/robots.txt" for pid in portal_ids}
        options = {
            pid: ["--connect-to", f"{hosts[pid]}:443:127.0.0.1:{info['tls_port']}", "--cacert", info["ca_file"]]
            for pid in portal_ids
        }
    collections: list = []
    gc.callbacks.append(lambda phase, _: collections.append(phase) if phase == "start" else None)

    for pid in portal_ids[:2]:  # warm-up of both clients and the simulator, not counted
        ours(pid, urls[pid], warm[pid], guard, collections)
        curl(urls[pid], warm[pid], options[pid])
    load_start, busy_start, cpu_start = os.getloadavg(), busy_ticks(), time.process_time()
    started = time.perf_counter()
    triples = []
    for n in range(args.rounds):
        for i, pid in enumerate(portal_ids):
            order = ORDERS[(i + n * len(portal_ids)) % len(ORDERS)]
            got = {"portal_id": pid, "round": n, "order": order, "load": os.getloadavg()[0]}
            for who in order:
                if who == "ours":
                    got[who] = ours(pid, urls[pid], warm[pid], guard, collections)
                else:
                    got[who] = curl(urls[pid], warm[pid], options[pid])
            triples.append(got)
    seconds = time.perf_counter() - started
    load_end, busy_end = os.getloadavg(), busy_ticks()
    busy = (busy_end[0] - busy_start[0]) / max(1, busy_end[1] - busy_start[1])
    own = (time.process_time() - cpu_start) / seconds / (os.cpu_count() or 1)

    delays = sorted({profile(p).ttfb_ms for p in portal_ids})
    scheme = "http, loopback path" if args.plain else "https, portal host names"
    print(
        f"simulator {info['base']}: {len(urls)} home pages ({scheme}; server delays {delays} ms), {args.rounds} rounds"
    )
    print(
        f"  machine: {os.cpu_count()} cores, load average {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the "
        f"end ({min(t['load'] for t in triples):.2f}-{max(t['load'] for t in triples):.2f}), CPU busy {busy:.0%} "
        f"(this benchmark's own process {own:.0%})"
    )
    by_url: dict[str, list[dict]] = {}
    for t in triples:
        by_url.setdefault(t["portal_id"], []).append(t)
    for metric in ("ttfb_ms", "total_ms"):
        name = "TTFB" if metric == "ttfb_ms" else "total"
        print(line(f"{name} ours - curl", [t["ours"][metric] - t["curl_a"][metric] for t in triples]))
        print(line(f"{name} curl - curl", [t["curl_b"][metric] - t["curl_a"][metric] for t in triples]))
    print(f"  per URL, the fastest of its {args.rounds} rounds (what load cannot add to):")
    for metric in ("ttfb_ms", "total_ms"):
        name = "TTFB" if metric == "ttfb_ms" else "total"
        best = {who: {pid: min(t[who][metric] for t in ts) for pid, ts in by_url.items()} for who in ORDERS[0]}
        print(line(f"{name} ours - curl, fastest", [best["ours"][pid] - best["curl_a"][pid] for pid in by_url]))
        print(line(f"{name} curl - curl, fastest", [best["curl_b"][pid] - best["curl_a"][pid] for pid in by_url]))
    phases = ("dns_ms", "connect_ms", "tls_ms", "wait_ms") if not args.plain else ("dns_ms", "connect_ms", "wait_ms")
    print("  ours - curl by phase, median of pairs (ms): " + ", ".join(
        f"{p.removesuffix('_ms')} {statistics.median(t['ours'][p] - t['curl_a'][p] for t in triples):+.2f}"
        for p in phases
    ) + " (wait: request sent to first byte)")  # fmt: skip
    gcs = sum(t["ours"]["gc"] for t in triples)
    print(f"  garbage collections during our probes: {gcs} (none inside a timed window: probes pause the collector)")
    worst = sorted(triples, key=lambda t: t["ours"]["ttfb_ms"] - t["curl_a"]["ttfb_ms"])[-3:]
    for t in reversed(worst):
        diff = {p.removesuffix("_ms"): round(t["ours"][p] - t["curl_a"][p], 1) for p in phases}
        print(
            f"  worst TTFB pair {t['ours']['ttfb_ms'] - t['curl_a']['ttfb_ms']:+.1f} ms ({t['portal_id']}, "
            f"load {t['load']:.2f}, {' '.join(t['order'])}): ours - curl by phase {diff}; curl B - A "
            f"{t['curl_b']['ttfb_ms'] - t['curl_a']['ttfb_ms']:+.1f} ms"
        )

    # 16 at a time: probe_all's rounds alternate with rounds of 16 curl processes at a time on the
    # same URLs, so what concurrency adds (the simulator is one Python process) is seen for both
    rows, parallel_curl, seconds = [], [], 0.0
    for _ in range(args.rounds):
        start = time.perf_counter()
        rows += probe_all(urls, rounds=1, workers=16, guard=guard, log=lambda m: None)
        seconds += time.perf_counter() - start
        with ThreadPoolExecutor(16) as pool:
            parallel_curl += list(
                zip(urls, pool.map(lambda pid: curl(urls[pid], warm[pid], options[pid]), urls), strict=True)
            )
    print(
        f"  probe_all: {len(rows)} probes in {seconds:.1f} s = {len(rows) / seconds:.1f} probes/s "
        f"(16 workers; the slowest home page answers after {max(delays)} ms)"
    )
    serial = {
        who: {pid: statistics.median(t[who]["ttfb_ms"] for t in ts) for pid, ts in by_url.items()}
        for who in ("ours", "curl_a")
    }
    print(
        line(
            "TTFB 16 at a time - alone",
            [r["ttfb_ms"] - serial["ours"][r["portal_id"]] for r in rows if r.get("ttfb_ms")],
        )
    )
    print(line("  curl, the same", [c["ttfb_ms"] - serial["curl_a"][pid] for pid, c in parallel_curl]))
    if args.json:
        args.json.write_text(
            json.dumps({"triples": triples, "probe_all": rows, "parallel_curl": parallel_curl}, indent=1, default=str)
        )
    sim.stdin.close()
    sim.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
