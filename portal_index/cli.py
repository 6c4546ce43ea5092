"""`portal-index`: the one front door (the Make targets call it).

portal-index run [--demo | --mode live|inbox]   fetch (what this period lacks), ingest, score, validate, publish
portal-index crawl [--demo] [--portal ID]         crawl the portals into WARC files and load them
portal-index extract                              re-derive crawl signals from the WARC files (no network)
portal-index ingest FILE [--source SOURCE]        land and load one file; non-zero if rejected
portal-index release                              validate the current warehouse and publish it
portal-index verify RELEASE                       recompute every hash and validate the descriptor
portal-index reproduce VERSION                    rebuild a release from its snapshots; same files?
portal-index template FILE.xlsx                   write a blank survey template for evaluators
portal-index synth --portals N --days D           synthetic inputs at scale in the working folder
portal-index dev                                  Dagster webserver and daemon on the project
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from portal_index.config import SOURCES, Home, executor
from portal_index.core.atomic import replace_atomically

EXIT_REJECTED = 3  # run --strict: the run published, but an input was rejected
EXIT_BUSY = 75  # another command holds the working folder (EX_TEMPFAIL: try again later, or --wait)
LOCKED = {"run", "crawl", "extract", "ingest", "release", "synth"}  # the commands that change a working folder
WRITTEN_BY_US = "# written by portal-index"
DAGSTER_YAML = f"""{WRITTEN_BY_US} for this working folder: local SQLite storage, no telemetry. Written
# again while it is this text (after a copy or an upgrade); edit it, and it is yours.
telemetry:
  enabled: false
# Dagster's SQLite event log, each database's connection kept between writes (docs/architecture.md)
event_log_storage:
  module: orchestration.event_log
  class: KeptConnectionsSqliteEventLogStorage
  config:
    base_dir: {{base_dir}}
"""
EARLIER_DAGSTER_YAML = (  # what earlier versions wrote, replaced as they are
    f"{WRITTEN_BY_US}: local SQLite storage, no telemetry\ntelemetry:\n  enabled: false\n",
    f"{WRITTEN_BY_US}: local SQLite storage, no telemetry. Replaced when portal-index writes\n# another; remove "
    "this first line to keep your own edits.\ntelemetry:\n  enabled: false\n# Dagster's SQLite event log, each "
    "database's connection kept between writes (docs/architecture.md)\nevent_log_storage:\n  module: "
    "orchestration.event_log\n  class: KeptConnectionsSqliteEventLogStorage\n  config: {}\n",
)
_OURS = re.compile(re.escape(DAGSTER_YAML).replace(re.escape("{base_dir}"), r'"(?:[^"\\\n]|\\.)*"'))  # a quoted string


def dagster_yaml(home: Home) -> str:
    """The working folder's Dagster instance: its event log in its own `dagster/history/runs`."""
    import yaml  # Dagster's own YAML library

    path = str(home.event_logs)
    # double-quoted, on one line, every character escaped that must be (any path reads back exactly)
    quoted = yaml.safe_dump(path, default_style='"', width=2**31, allow_unicode=False).removesuffix("\n")
    return DAGSTER_YAML.replace("{base_dir}", quoted)


def _write_dagster_yaml(home: Home) -> None:
    """Written where absent, or where it is a text portal-index wrote (an earlier version's, or this
    one's for another folder: a copied working folder); a file anyone edited is left as it is."""
    config, text = home.dagster_home / "dagster.yaml", dagster_yaml(home)
    if config.exists():
        old = config.read_text(encoding="utf-8")
        if old == text or not (old in EARLIER_DAGSTER_YAML or _OURS.fullmatch(old)):
            return
    replace_atomically(config, lambda staged: staged.write_text(text, encoding="utf-8"))


def _prepare(home: Home, runs_jobs: bool = False) -> Home:
    """The working folder, ready, its paths exported. For a command that runs jobs, dbt starts parsing
    a stale project (a fresh checkout: 5-6 s, a process of its own) while this one imports Dagster and
    builds the definitions, which wait for the manifest (`portal_index.core.dbt_manifest`)."""
    home.ensure()
    home.export(tty=sys.stderr.isatty())  # dbt's profile, Dagster and child processes read it
    config = home.dagster_home / "dagster.yaml"
    if executor() == "celery":  # runs go to the cluster's queue: its instance, never a private one
        text = config.read_text(encoding="utf-8") if config.exists() else ""
        if "postgres" not in text or "QueuedRunCoordinator" not in text:
            raise SystemExit(
                f"PORTAL_INDEX_EXECUTOR=celery, but {config} is not the cluster's instance (PostgreSQL and "
                "the run queue): copy deploy/dagster.yaml there, or use the cluster's working folder "
                "(docs/deploy.md)"
            )
    else:
        _write_dagster_yaml(home)
    if runs_jobs:  # after the export: dbt's profile names the working folder's warehouse
        from portal_index.core.dbt_manifest import prepare_manifest_in_background

        prepare_manifest_in_background()
    return home


def _defs():
    from orchestration.definitions import defs

    return defs()


def _execute_in_process(job, tags: dict, run_config: dict, log_path: Path, verbose: bool):
    from dagster import DagsterInstance

    with (
        DagsterInstance.get() as instance,
        open(log_path, "w", encoding="utf-8") as log,
        contextlib.redirect_stdout(sys.stderr if verbose else log),
    ):  # dbt's own output
        return job.execute_in_process(instance=instance, tags=tags, run_config=run_config, raise_on_error=False)


def _run_job(job_name: str, home: Home, mode: str, verbose: bool = False, partition: str | None = None):
    """Execute a Dagster job in this process, or on the cluster (PORTAL_INDEX_EXECUTOR=celery: queued,
    started by its daemon, its steps on the workers); returns (result, failed check evaluations, log
    path: the run's output here, or the Dagster instance whose run it is)."""
    from dagster import DagsterInstance

    from orchestration.defs.sources.partitions import NoPortals, all_portals_tags, current_hour_tags
    from orchestration.submit import run_config

    log_path = home.work / f"{job_name}.log"
    tags = {}
    if partition:
        tags = {"dagster/partition": partition}
    elif job_name == "crawl_job":  # every portal in one run
        try:
            tags = all_portals_tags()
        except NoPortals as e:
            raise SystemExit(f"{job_name}: {e}") from None
    elif job_name == "probe_job":  # this hour
        tags = current_hour_tags()
    config = run_config(home.root, mode, log_level="INFO" if verbose else "WARNING")
    if executor() == "celery":  # queued on the cluster's instance; the daemon starts it (docs/deploy.md)
        from orchestration.submit import submit, wait

        with DagsterInstance.get() as instance:
            print(
                f"{job_name}: queued on the cluster as run {(run_id := submit(job_name, config, tags))}",
                file=sys.stderr,
            )
            result = wait(instance, run_id)
        log_path = f"the run's events in the Dagster UI, run {run_id}"
    else:
        result = _execute_in_process(_defs().resolve_job_def(job_name), tags, config, log_path, verbose)
    failed_checks = [  # blocking ones; a loader's warning about a rejected file is in the inputs summary
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and not e.event_specific_data.passed
        and e.event_specific_data.severity.value == "ERROR"
    ]
    for evaluation in failed_checks:
        print(
            f"FAILED CHECK {evaluation.asset_key.to_user_string()}:{evaluation.check_name}: "
            f"{evaluation.metadata.get('failures').value if evaluation.metadata.get('failures') else ''}",
            file=sys.stderr,
        )
    for step in result.get_step_failure_events():
        print(f"FAILED STEP {step.step_key}: {step.event_specific_data.error.message.strip()[:500]}", file=sys.stderr)
    return result, failed_checks, log_path


def _materialization(result, asset: str):
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    return events[0].event_specific_data.materialization.metadata if events else None


def _fetch(home: Home, mode: str, verbose: bool, refetch: bool = False) -> bool:
    """The crawl (every portal), this hour's probes and the browser audit, each its own run, unless
    this period's (this hour's) was already fetched; False if one failed."""
    from orchestration.defs.resources import PortalIndexResource
    from portal_index.land.fetched import already_fetched

    audited = PortalIndexResource(home=str(home.root), mode=mode).audited_portals()
    for job_name in ("crawl_job", "probe_job", "audit_job"):
        if not refetch and (done := already_fetched(job_name, home, mode == "demo", audited)):
            print(f"{job_name}: not run, {done} ({mode}); --refetch runs it again", file=sys.stderr)
            continue
        result, _, log_path = _run_job(job_name, home, mode, verbose)
        if not result.success:
            print(f"{job_name} run {result.run_id} failed (log: {log_path})", file=sys.stderr)
            return False
    return True


def _execute(job_name: str, home: Home, mode: str, verbose: bool = False) -> int:
    """Run a job that ends in a release; print the release's path."""
    result, failed_checks, log_path = _run_job(job_name, home, mode, verbose)
    meta = _materialization(result, "release")
    if not result.success or failed_checks or meta is None:
        print(
            f"run {result.run_id} did not publish a release (see the errors above, dbt's output in "
            f"{log_path}; `make dev` shows the run in Dagster)",
            file=sys.stderr,
        )
        return 1
    print(f"release: {meta['path'].value}" + ("" if meta["new_release"].value else f" ({meta['version'].value})"))
    return 0


def _inputs_summary(home: Home, since: datetime, strict: bool) -> int:
    """Print what the command's inputs gave; with `strict`, the exit status when a file was rejected."""
    from portal_index.land.ingest import summary_since

    summary = summary_since(home, since)
    for line in summary.lines():
        print(line, file=sys.stderr)
    return EXIT_REJECTED if strict and summary.rejected else 0


def cmd_run(args) -> int:
    home = _prepare(Home.from_env(args.home), runs_jobs=True)
    mode = "demo" if args.demo else args.mode
    started = datetime.now(UTC)
    status = 0 if mode == "inbox" or _fetch(home, mode, args.verbose, args.refetch) else 1
    if status == 0:
        status = _execute("release_job", home, mode, args.verbose)
    strict = _inputs_summary(home, started, args.strict)
    return status or strict


def cmd_crawl(args) -> int:
    """Crawl every active portal (or one) through Dagster's crawl job, then load the WARC files."""
    home = _prepare(Home.from_env(args.home), runs_jobs=True)
    mode = "demo" if args.demo else "live"
    status = 0
    for partition in args.portal or [None]:
        result, _, log_path = _run_job("crawl_job", home, mode, args.verbose, partition)
        meta = _materialization(result, "portal_crawls")
        if meta:
            print(
                f"crawled {meta['portals'].value} portal(s): {meta['fetches'].value} fetches, "
                f"{meta['errors'].value} errors; stopped: {meta['stopped'].value}"
            )
        if not result.success:
            print(f"run {result.run_id} failed (log: {log_path})", file=sys.stderr)
            status = 1
    return status


def cmd_extract(args) -> int:
    """Re-derive crawl pages and signals from every archived WARC file, without network."""
    from portal_index.land.ingest import reextract

    home = _prepare(Home.from_env(args.home))
    report = reextract(home)
    print(
        f"re-extracted {len(report.accepted)} WARC file(s) into {report.rows} rows"
        + (f"; {len(report.rejected)} rejected" if report.rejected else "")
        + ". `portal-index run --mode inbox` rescores and publishes with them."
    )
    for snapshot, problems in report.rejected:
        print(f"  - {snapshot.original_name}: {problems[0]}", file=sys.stderr)
    return 1 if report.rejected else 0


def cmd_release(args) -> int:
    home = _prepare(Home.from_env(args.home), runs_jobs=True)
    return _execute("publish_job", home, "inbox", args.verbose)


def cmd_ingest(args) -> int:
    from portal_index.land.ingest import ingest_file, ingest_source

    home = _prepare(Home.from_env(args.home))
    if args.retry:  # every rejected snapshot, parsed again with today's parsers and registry
        if args.file:
            print("ingest --retry takes no FILE: it parses every rejected snapshot again", file=sys.stderr)
            return 2
        started = datetime.now(UTC)
        for source in [args.source] if args.source else SOURCES:
            ingest_source(home, source, retry_rejected=True)
        _inputs_summary(home, started, strict=False)
        return 0
    if not args.file:
        print("ingest needs a FILE (or --retry)", file=sys.stderr)
        return 2
    path = Path(args.file)
    if not path.is_file():
        print(f"{path}: no such file", file=sys.stderr)
        return 2
    try:
        snapshot, report = ingest_file(home, path, source=args.source)
    except ValueError as e:
        print(str(e), file=sys.stderr)
        return 2
    if report.rejected:
        problems = report.rejected[0][1]
        print(f"REJECTED {path.name} ({report.source}); snapshot kept at {snapshot.path}", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    rows = report.accepted[0][1]
    note = "already loaded (same sha256): nothing to do" if report.repeats else f"{rows} rows loaded"
    print(f"accepted {path.name} as {report.source}: {note}; snapshot {snapshot.sha256[:12]}")
    return 0


def cmd_rejections(args) -> int:
    """Every rejected input the working folder holds, with every problem."""
    from portal_index.land.ingest import rejections

    found = rejections(Home.from_env(args.home), args.source)
    for source, name, sha, at, problems in found:
        print(f"{source}/{name} (snapshot {sha[:12]}, rejected {at} UTC): {len(problems)} problem(s)")
        for problem in problems:
            print(f"  - {problem}")
    if not found:
        print("no rejected input")
    return 0


def cmd_verify(args) -> int:
    from portal_index.release.verify import check

    folder = Path(args.release)
    if not folder.is_dir():
        folder = Home.from_env(args.home).releases / args.release
    v = check(folder, published=args.checksum)
    for problem in v.problems:
        print(f"  - {problem}", file=sys.stderr)
    if v.problems:
        print(f"release {folder} FAILED verification ({len(v.problems)} problem(s))", file=sys.stderr)
        return 1
    print(f"release {folder.resolve().name}: every file matches its size and sha256; the descriptor is valid")
    if v.sums_sha256:
        anchors = f" (checked against {', '.join(v.anchors)})" if v.anchors else ""
        print(f"SHA256SUMS sha256 {v.sums_sha256}{anchors}")
    for note in v.notes:
        print(f"note: {note}")
    return 0


def cmd_reproduce(args) -> int:
    from portal_index.release.verify import reproduce

    home = _prepare(Home.from_env(args.home))
    result = reproduce(home, args.version, keep=args.keep, this_code=args.this_code)
    print(f"rebuilt {args.version} from its snapshots with {result.code_note}")
    if result.identical:
        print("identical: every data file (CSV and Parquet) has the same sha256")
        return 0
    print(f"DIFFERENT: {', '.join(result.differing)}" + (f" (rebuild kept in {result.rebuilt})" if args.keep else ""))
    return 1


def cmd_template(args) -> int:
    from portal_index.parse.surveys import write_template

    path = Path(args.file)
    if path.suffix.lower() != ".xlsx":
        print(f"{path}: the template is written as .xlsx", file=sys.stderr)
        return 2
    if path.exists() and not args.force:
        print(f"{path} exists; pass --force to overwrite it", file=sys.stderr)
        return 2
    write_template(path)
    print(f"wrote the blank survey template to {path}")
    return 0


def cmd_synth(args) -> int:
    from datetime import date

    from portal_index.demo.synth import synth

    home = Home.from_env(args.home)
    if home.registry.exists() or any(home.snapshots.glob("*/*/sidecar.json")):
        print(f"{home.root} already holds inputs; synth writes into an empty working folder (--home)", file=sys.stderr)
        return 2
    summary = synth(
        home,
        args.portals,
        args.days,
        seed=args.seed,
        start=date.fromisoformat(args.start),
        log=lambda m: print(m, file=sys.stderr),
    )
    for source, files in summary.files.items():
        print(f"{source}: {files} file(s), {summary.rows[source]:,} rows")
    print(
        f"registry: {summary.registry} ({summary.portals} portals); "
        f"portal-index --home {home.root} run --mode inbox scores them"
    )
    return 0


def cmd_dev(args) -> int:
    """Dagster's webserver and daemon on this code location, with the working folder prepared."""
    home = _prepare(Home.from_env(args.home))
    dagster = Path(sys.executable).parent / "dagster"
    print(f"working folder {home.root}; Dagster UI on http://{args.host}:{args.port}")
    os.execv(
        str(dagster), [str(dagster), "dev", "-m", "orchestration.definitions", "-h", args.host, "-p", str(args.port)]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="portal-index", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", help="working folder (default: $PORTAL_INDEX_HOME, else var/ in the repo)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show Dagster's step logs")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="fetch, ingest, score, validate and publish")
    run.add_argument("--demo", action="store_true", help="use the local portal simulator and the demo inputs")
    run.add_argument(
        "--mode",
        choices=("live", "inbox"),
        default="live",
        help="live: fetch the registry's real URLs; inbox: fetch nothing, ingest dropped files",
    )
    run.add_argument(
        "--refetch",
        action="store_true",
        help="crawl, audit and probe even when this period's crawl and audit and this hour's probes are in",
    )
    run.add_argument(
        "--strict",
        action="store_true",
        help=f"exit with {EXIT_REJECTED} when an input file was rejected (for schedulers that must page someone)",
    )
    run.set_defaults(func=cmd_run)

    crawl = sub.add_parser("crawl", help="crawl the portals (WARC per portal) and load the results")
    crawl.add_argument("--demo", action="store_true", help="crawl the local portal simulator")
    crawl.add_argument("--portal", action="append", help="crawl only this portal (repeatable)")
    crawl.set_defaults(func=cmd_crawl)

    extract = sub.add_parser("extract", help="re-derive crawl signals from the archived WARC files")
    extract.set_defaults(func=cmd_extract)

    ingest = sub.add_parser("ingest", help="land and load one file (or parse the rejected ones again)")
    ingest.add_argument("file", nargs="?")
    ingest.add_argument(
        "--retry",
        action="store_true",
        help="parse every rejected snapshot again (after a fix to a parser or the registry)",
    )
    ingest.add_argument("--source", choices=SOURCES, help="which source the file is (guessed when omitted)")
    ingest.set_defaults(func=cmd_ingest)

    rej = sub.add_parser("rejections", help="every rejected input, with every problem")
    rej.add_argument("--source", choices=SOURCES)
    rej.set_defaults(func=cmd_rejections)

    release = sub.add_parser("release", help="validate the current warehouse and publish a release")
    release.set_defaults(func=cmd_release)

    ver = sub.add_parser("verify", help="recompute every hash of a release and validate its descriptor")
    ver.add_argument("release", help="a release folder, or a version under $PORTAL_INDEX_HOME/releases")
    ver.add_argument("--checksum", help="the sha256 of SHA256SUMS as published (release notes, website)")
    ver.set_defaults(func=cmd_verify)

    rep = sub.add_parser("reproduce", help="rebuild a release from its snapshots and compare its data files")
    rep.add_argument("version")
    rep.add_argument("--keep", action="store_true", help="keep the rebuilt working folder")
    rep.add_argument(
        "--this-code", action="store_true", help="rebuild with this checkout instead of the release's recorded code"
    )
    rep.set_defaults(func=cmd_reproduce)

    tpl = sub.add_parser("template", help="write a blank survey template (.xlsx) with drop-down lists")
    tpl.add_argument("file")
    tpl.add_argument("--force", action="store_true", help="overwrite an existing file")
    tpl.set_defaults(func=cmd_template)

    syn = sub.add_parser("synth", help="write synthetic inputs at scale (registry, probes, crawls, surveys, PAPI)")
    syn.add_argument("--portals", type=int, default=1000, help="number of portals (default 1000)")
    syn.add_argument("--days", type=int, default=182, help="days of hourly probes (default 182)")
    syn.add_argument("--start", default="2026-01-01", help="first day of probes (default 2026-01-01)")
    syn.add_argument("--seed", type=int, default=20260101, help="random seed (default 20260101)")
    syn.set_defaults(func=cmd_synth)

    for name, command in sub.choices.items():
        if name in LOCKED:
            command.add_argument(
                "--wait", action="store_true", help="wait for another command on this working folder to finish"
            )

    dev = sub.add_parser("dev", help="start the Dagster webserver and daemon")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(func=cmd_dev)

    args = parser.parse_args(argv)
    if args.command not in LOCKED:
        return args.func(args)
    from portal_index.core import run_lock

    with contextlib.ExitStack() as stack:
        try:  # one command at a time changes a working folder
            stack.enter_context(
                run_lock.hold(
                    Home.from_env(args.home).root,
                    f"portal-index {args.command}",
                    wait=args.wait,
                    on_wait=lambda busy: print(f"{busy}; waiting…", file=sys.stderr),
                )
            )
        except run_lock.Busy as busy:
            print(busy, file=sys.stderr)
            return EXIT_BUSY
        return args.func(args)


def entry() -> None:
    """The console script. Every connection is closed by the time a command returns; the process
    then ends without the interpreter's teardown, in which DuckDB's binding reports its module-level
    type objects (still held by SQLAlchemy's dialect caches) as leaked, in some sixty lines of noise."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
