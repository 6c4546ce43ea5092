"""`make bench`: the pipeline at national scale, stage by stage, against the floor.

For each size (portals) it makes the inputs once with `portal-index synth` (kept under the bench
folder for the next run), starts from an empty warehouse, and runs each stage in its own process:
ingest -> dbt build -> validation -> publish, then the floor (one hand-written DuckDB query that
computes portal_scores from the same snapshots). Wall time, CPU time (user + system, from
`os.wait4`), peak resident memory of the process and its children, and rows per second are printed
per stage. At the largest size it then shows what the incremental models and the sensor save:
a dbt build with nothing new, one with one more day of probes, and the Dagster run the inbox sensor
asks for when one survey sheet changes.

    python -m benchmarks.bench_pipeline [--sizes 1000,3000,10000] [--days 182] [--root var/bench]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from portal_index.config import REPO_ROOT, Home, child_env
from portal_index.land.snapshots import list_snapshots

STAGES = ("ingest", "dbt", "validate", "publish", "floor")


def measure(args: list[str], env: dict) -> dict:
    """Run one stage in its own process: its JSON line, and its wall time, CPU time and peak memory
    (the process and its children, from `os.wait4`)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.stages", *args],
            env=env,
            cwd=REPO_ROOT,
            stdout=out,
            stderr=err,
            text=True,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"stage {args[0]} failed:\n{stdout[-2000:]}\n{stderr[-4000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    return {**result, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}


def fresh_start(home: Home) -> None:
    """Keep the snapshots (the inputs); drop the warehouse, releases and scratch of a previous run,
    and the day of probes an interrupted incremental run may have added."""
    from portal_index.demo.synth import EXTRA_DAY

    for snapshot in list_snapshots(home.snapshots, "probes"):
        if EXTRA_DAY in snapshot.origin:
            shutil.rmtree(snapshot.path.parent)
    for path in home.root.glob("warehouse.duckdb*"):
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    for path in (home.releases, home.work):
        shutil.rmtree(path, ignore_errors=True)
    home.ensure()


def _synth_stamp(portals: int, days: int) -> str:
    """What the kept inputs were made by: the size, and the sha256 of `synth`'s source. Inputs of an
    older synth (a probe file without a column the loader and the floor now read) are made again."""
    import hashlib

    from portal_index.demo import synth

    return f"{portals} portals, {days} days, synth {hashlib.sha256(Path(synth.__file__).read_bytes()).hexdigest()}\n"


def run_size(root: Path, portals: int, days: int, env: dict, log) -> dict:
    home = Home(root / str(portals))
    stage_env = {**env, "PORTAL_INDEX_HOME": str(home.root), "PORTAL_INDEX_REGISTRY": str(home.registry)}
    out = {"portals": portals, "days": days}
    made_by = _synth_stamp(portals, days)
    stamp = home.root / "synth.stamp"
    if home.registry.exists() and (not stamp.exists() or stamp.read_text() != made_by):
        log(f"  {portals:>6} portals  inputs made by another version of synth: made again")
        for path in (home.snapshots, home.root / "inbox", home.registry.parent):
            shutil.rmtree(path, ignore_errors=True)
    if not home.registry.exists():
        started = time.perf_counter()
        subprocess.run(
            [
                str(Path(sys.executable).parent / "portal-index"),
                "--home",
                str(home.root),
                "synth",
                "--portals",
                str(portals),
                "--days",
                str(days),
            ],
            check=True,
            env=env,
        )
        out["synth_seconds"] = time.perf_counter() - started
        stamp.write_text(made_by)
    out["input_bytes"] = sum(p.stat().st_size for p in home.snapshots.rglob("*") if p.is_file())
    fresh_start(home)
    for stage in STAGES:
        out[stage] = measure([stage, str(home.root)], stage_env)
        s = out[stage]
        log(f"  {portals:>6} portals  {stage:<9} {s['wall']:7.1f} s wall {s['cpu']:7.1f} s CPU {s['peak_mb']:6.0f} MB")
    return out


def incremental(root: Path, portals: int, days: int, env: dict, log) -> dict:
    """At one size: a dbt build with nothing new; one after a day more of probes; the sensor's run
    for one changed survey sheet."""
    from portal_index.demo.synth import add_probe_day

    home = Home(root / str(portals))
    stage_env = {**env, "PORTAL_INDEX_HOME": str(home.root), "PORTAL_INDEX_REGISTRY": str(home.registry)}
    # the floor again with all of this machine's memory, not the pipeline's 3 GB: is the limit the floor's handicap?
    out = {"floor_unlimited": measure(["floor", str(home.root)], {**stage_env, "PORTAL_INDEX_DUCKDB_MEMORY": "20GB"})}
    log("  floor without the memory limit done")
    out["nothing_new"] = measure(["dbt", str(home.root)], stage_env)
    log("  dbt build with nothing new done")
    home.export()  # the working folder's own registry, for the synth helpers below
    day = date(2026, 1, 1) + timedelta(days=days)
    rows, snapshot = add_probe_day(home, day)
    out["one_more_day"] = {
        "probe_rows": rows,
        "ingest": measure(["ingest", str(home.root)], stage_env),
        "dbt": measure(["dbt", str(home.root)], stage_env),
        # as the Dagster job does after a build: the probe marts changed, and a release of tables whose
        # current contents were not validated is refused (the survey sheet's run below publishes)
        "validate": measure(["validate", str(home.root)], stage_env),
    }
    shutil.rmtree(snapshot.path.parent)  # the inputs stay the size they were made for
    log("  one more day of probes done")
    out["survey_change"] = measure(["survey_change", str(home.root)], stage_env)
    log("  one changed survey sheet done")
    return out


def report(results: list[dict], inc: dict | None) -> str:
    lines = []
    for r in results:
        lines.append(
            f"\n{r['portals']:,} portals, {r['days']} days of hourly probes "
            f"({r['input_bytes'] / 1e9:.1f} GB of snapshots)"
        )
        lines.append(f"  {'stage':<10}{'wall s':>9}{'CPU s':>9}{'peak MB':>9}{'rows':>13}{'rows/s':>12}")
        for stage in STAGES:
            s = r[stage]
            lines.append(
                f"  {stage:<10}{s['wall']:9.1f}{s['cpu']:9.1f}{s['peak_mb']:9.0f}{s['rows']:13,}"
                f"{s['rows'] / s['wall']:12,.0f}"
            )
        floor = r["floor"]
        lines.append(
            f"  dbt / floor {r['dbt']['wall'] / floor['wall']:.2f}   validation / dbt "
            f"{r['validate']['wall'] / r['dbt']['wall']:.2f}   floor vs mart: "
            f"{floor.get('rows_identical_to_mart', '?'):,} of {floor['scores']:,} rows identical, "
            f"{floor.get('grades_differing', '?')} grades differ, largest score difference "
            f"{floor.get('largest_score_difference', '?')}"
        )
    if len(results) > 1:
        lines.append("\nGrowth (seconds per million raw rows)")
        lines.append(f"  {'portals':>8}{'raw rows':>13}" + "".join(f"{s:>10}" for s in STAGES))
        for r in results:
            raw = r["dbt"]["rows"] / 1e6
            lines.append(
                f"  {r['portals']:>8,}{r['dbt']['rows']:13,}" + "".join(f"{r[s]['wall'] / raw:10.2f}" for s in STAGES)
            )
    if inc:
        fu = inc["floor_unlimited"]
        largest = results[-1]
        lines.append(
            f"\nFloor at the largest size without the 3 GB limit: {fu['wall']:.1f} s wall, {fu['cpu']:.1f} s CPU, "
            f"{fu['peak_mb']:.0f} MB peak; dbt / floor {largest['dbt']['wall'] / fu['wall']:.2f}"
        )
        lines.append("\nIncremental, at the largest size")
        lines.append(f"  dbt build, nothing new:            {inc['nothing_new']['wall']:6.1f} s")
        day = inc["one_more_day"]
        lines.append(
            f"  one more day ({day['probe_rows']:,} probes): ingest {day['ingest']['wall']:.1f} s "
            f"({day['ingest']['rows']:,} rows loaded), "
            f"dbt build {day['dbt']['wall']:.1f} s, validation {day['validate']['wall']:.1f} s"
        )
        sc = inc["survey_change"]
        lines.append(
            f"  one survey sheet changed (inbox sensor's Dagster run): {sc['wall']:.1f} s wall, "
            f"{sc['materialized_count']} of {sc['assets_total']} assets materialised; "
            f"not re-run: {', '.join(sc['not_rerun'])}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,3000,10000")
    parser.add_argument("--days", type=int, default=182)
    parser.add_argument("--root", default=str(REPO_ROOT / "var" / "bench"), help="where the synthetic inputs are kept")
    parser.add_argument("--no-incremental", action="store_true", help="skip the incremental runs")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    env = child_env(drop=("PORTAL_INDEX_HOME", "PORTAL_INDEX_REGISTRY"))
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    for n in sizes:
        log(f"{n:,} portals")
        results.append(run_size(root, n, args.days, env, log))
    inc = None if args.no_incremental else incremental(root, max(sizes), args.days, env, log)
    text = report(results, inc)
    print(text)
    (root / "results.json").write_text(json.dumps({"sizes": results, "incremental": inc}, indent=2, default=str))
    (root / "results.txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
