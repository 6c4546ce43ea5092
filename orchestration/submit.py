"""Runs submitted to a Dagster instance's run queue, for the CLI on a cluster (docs/deploy.md):
`dagster job launch` puts the run in the queue, the daemon starts it within the tag limits, its
steps go to the Celery workers; `wait` follows it in the instance's PostgreSQL storage.

`Outcome` answers what the CLI asks of an in-process result: success, the run's id, its events."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from portal_index.config import REPO_ROOT, child_env

WORKSPACE = REPO_ROOT / "deploy" / "workspace.yaml"
BIN = Path(sys.executable).parent


def run_config(home: Path | str, mode: str, log_level: str | None = None, **settings) -> dict:
    """A run's configuration: the `portal_index` resource's working folder, mode and other `settings`
    (e.g. audit_max_portals), and the console log level when given."""
    config: dict = {"resources": {"portal_index": {"config": {"home": str(home), "mode": mode, **settings}}}}
    if log_level:
        config["loggers"] = {"console": {"config": {"log_level": log_level}}}
    return config


def submit(job: str, run_config: dict, tags: dict[str, str], env: dict | None = None, run_id: str | None = None) -> str:
    """Queue a run of `job`; its id."""
    run_id = run_id or str(uuid.uuid4())
    done = subprocess.run(
        [
            str(BIN / "dagster"),
            "job",
            "launch",
            "-w",
            str(WORKSPACE),
            "-j",
            job,
            "--run-id",
            run_id,
            "--tags",
            json.dumps(tags),
            "--config-json",
            json.dumps(run_config),
        ],
        cwd=REPO_ROOT,
        env=env or child_env(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"dagster job launch {job} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return run_id


@dataclass
class Outcome:
    run_id: str
    status: str
    all_events: list

    @property
    def success(self) -> bool:
        return self.status == "SUCCESS"

    def get_step_failure_events(self) -> list:
        return [e for e in self.all_events if e.event_type_value == "STEP_FAILURE"]

    def get_asset_materialization_events(self) -> list:
        return [e for e in self.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]


def wait(instance, run_id: str, timeout: float | None = None, poll: float = 1.0) -> Outcome:
    """Until the run ends (or `timeout` passes: then it is reported as it stands, e.g. STARTED). On
    Ctrl-C the run goes on on the cluster; the message says where to follow or stop it."""
    from dagster import DagsterRunStatus

    ended = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    deadline = None if timeout is None else time.monotonic() + timeout
    run = instance.get_run_by_id(run_id)
    try:
        while (deadline is None or time.monotonic() < deadline) and (run is None or run.status not in ended):
            time.sleep(poll)
            run = instance.get_run_by_id(run_id)
    except KeyboardInterrupt:
        print(
            f"\nrun {run_id} goes on on the cluster: follow or terminate it in the Dagster UI "
            "(dagster-webserver -w deploy/workspace.yaml)",
            file=sys.stderr,
        )
        raise
    events = [entry.dagster_event for entry in instance.all_logs(run_id) if entry.dagster_event is not None]
    return Outcome(run_id, run.status.value if run else "NOT_FOUND", events)


def step_workers(instance, run_id: str) -> list[tuple[str, str]]:
    """[(step key, Celery worker)], in the order the workers started the steps."""
    out = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.event_type_value != "ENGINE_EVENT":
            continue
        worker = event.event_specific_data.metadata.get("Celery worker")
        if worker is not None:
            out.append((event.step_key, worker.value))
    return out
