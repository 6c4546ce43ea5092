"""The cluster on one machine, on loopback: PostgreSQL (Dagster's storage), Redis (the Celery broker),
the Dagster daemon (the run queue) and Celery workers, each a process of its own that this module
starts and stops. `make test-cluster` runs the demo on it; docs/deploy.md gives the same steps as
shell commands for one machine and for several.

    python -m orchestration.local_cluster up --root /tmp/cluster    # prints the variables to export
    python -m orchestration.local_cluster down --root /tmp/cluster

Layout under `root`: `postgres/` (its data; as root, a folder of the postgres user's in the system's
temporary folder), `redis/`, `logs/`, `home/` (the working folder every worker shares: snapshots,
warehouse, step outputs, and `home/dagster/`, the Dagster instance with deploy/dagster.yaml). Ports
are free ones, found at start and kept with the PostgreSQL folder in `root/cluster.json`.

PostgreSQL and Redis are Debian's (`make cluster-servers` installs them); PostgreSQL refuses to run
as root, so as root its commands run as the `postgres` user.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from portal_index.config import REPO_ROOT, Home, child_env, export_env

DEPLOY = REPO_ROOT / "deploy"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin(name: str) -> str:
    """A PostgreSQL server program: on PATH, else in Debian's versioned folder."""

    def version(path: str) -> int:
        return int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0

    found = shutil.which(name) or max(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=version, default=None)
    if not found:
        raise RuntimeError(f"no PostgreSQL {name} (install Debian's postgresql: make cluster-servers)")
    return found


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-1500:]}"
        )


def _wait_port(port: int, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {seconds:.0f} s")


@dataclass
class Worker:
    name: str  # Celery node name, e.g. vn-hanoi@host
    vantage: str
    queues: tuple[str, ...]
    process: subprocess.Popen | None = None


@dataclass
class LocalCluster:
    root: Path
    vantages: tuple[str, ...] = ("vn-hanoi", "abroad")
    visibility_seconds: int = 21600
    browser_shard: int = 4  # portals per browser step, so that the browser workers share the work
    ports: dict = field(default_factory=dict)
    postgres_folder: str = ""
    workers: dict = field(default_factory=dict)
    daemon: subprocess.Popen | None = None

    @property
    def home(self) -> Home:
        return Home(self.root / "home")

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def env(self, **extra: str) -> dict[str, str]:
        """The variables of every cluster process (and of a shell that submits runs)."""
        return child_env(
            drop_prefixes=("PORTAL_INDEX_", "DAGSTER_"),
            **{
                "PORTAL_INDEX_HOME": str(self.home.root),
                "DAGSTER_HOME": str(self.home.dagster_home),
                "PORTAL_INDEX_EXECUTOR": "celery",
                "PORTAL_INDEX_CELERY_BROKER": f"redis://127.0.0.1:{self.ports['redis']}/0",
                "PORTAL_INDEX_CELERY_VISIBILITY_SECONDS": str(self.visibility_seconds),
                "PORTAL_INDEX_POSTGRES_URL": f"postgresql+psycopg2://dagster@127.0.0.1:{self.ports['postgres']}/dagster",
                "PORTAL_INDEX_PROBE_VANTAGES": ",".join(self.vantages),
                "PORTAL_INDEX_BROWSER_SHARD": str(self.browser_shard),
            },
            **extra,
        )

    # servers ---------------------------------------------------------------------------------

    def start_servers(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        self.ports = {"postgres": free_port(), "redis": free_port()}
        self._start_postgres()
        self._start_redis()
        self.home.ensure()
        shutil.copy(DEPLOY / "dagster.yaml", self.home.dagster_home / "dagster.yaml")
        self.save()

    @property
    def postgres_dir(self) -> Path:
        """PostgreSQL's data and socket folder. As root the server runs as the postgres user, who may
        not be able to reach `root` (pytest's folders are the owner's only): then a folder of its own
        in the system's temporary folder, named in cluster.json and removed when the cluster stops."""
        if not self.postgres_folder:
            folder = self.root / "postgres"
            folder.mkdir(exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(folder, "postgres")
                reachable = subprocess.run(_as_postgres(["test", "-w", str(folder)]), capture_output=True)
                if reachable.returncode != 0:  # a folder above it is its owner's only
                    folder.rmdir()
                    folder = Path(tempfile.mkdtemp(prefix="portal-index-postgres-"))
                    shutil.chown(folder, "postgres")
            self.postgres_folder = str(folder)
        return Path(self.postgres_folder)

    def _start_postgres(self) -> None:
        data = self.postgres_dir / "data"
        if not (data / "PG_VERSION").exists():
            _run(_as_postgres([postgres_bin("initdb"), "-D", str(data), "-U", "dagster", "--auth=trust", "-E", "UTF8"]))
        port = self.ports["postgres"]
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {self.postgres_dir}"
        log = self.postgres_dir / "postgres.log"
        _run(_as_postgres([postgres_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"]))
        try:
            _run(
                _as_postgres([postgres_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "dagster", "dagster"])
            )
        except RuntimeError as e:
            if "already exists" not in str(e):  # the cluster started again
                raise

    def _start_redis(self) -> None:
        redis = shutil.which("redis-server")
        if not redis:
            raise RuntimeError("no redis-server (install Debian's redis-server: make cluster-servers)")
        folder = self.root / "redis"
        folder.mkdir(exist_ok=True)
        port = self.ports["redis"]
        subprocess.run(
            [
                redis,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--daemonize",
                "yes",
                "--dir",
                str(folder),
                "--save",
                "",
                "--appendonly",
                "no",
                "--pidfile",
                str(folder / "redis.pid"),
                "--logfile",
                str(self.logs / "redis.log"),
            ],
            check=True,
        )
        _wait_port(port, 10, "redis-server")

    # Dagster and Celery processes ------------------------------------------------------------

    def start_daemon(self) -> None:
        """The daemon: takes queued runs within the tag limits and launches them on this machine."""
        log = open(self.logs / "dagster-daemon.log", "ab")  # noqa: SIM115 (the process keeps it)
        self.daemon = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", str(DEPLOY / "workspace.yaml")],
            cwd=REPO_ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_worker(self, vantage: str, queues: tuple[str, ...], name: str | None = None) -> Worker:
        """A Celery worker at `vantage` consuming `queues`, one step at a time, in its own process group."""
        name = name or f"{vantage}@{socket.gethostname()}"
        worker = Worker(name, vantage, queues)
        log = open(self.logs / f"worker-{vantage}.log", "ab")  # noqa: SIM115
        worker.process = subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "orchestration.celery_app",
                "worker",
                "-Q",
                ",".join(queues),
                "-c",
                "1",
                "-n",
                name,
                "--without-gossip",
                "--without-mingle",
                "-l",
                "INFO",
            ],
            cwd=REPO_ROOT,
            env=self.env(PORTAL_INDEX_VANTAGE=vantage),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers[vantage] = worker
        return worker

    def kill_worker(self, vantage: str) -> None:
        """Kill a worker as its machine's loss would: SIGKILL to its whole process group."""
        worker = self.workers[vantage]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait()

    def wait_workers_ready(self, seconds: float = 60) -> None:
        """Until every worker answers a ping through the broker."""
        from celery import Celery

        app = Celery(broker=f"redis://127.0.0.1:{self.ports['redis']}/0")
        names = {w.name for w in self.workers.values()}
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            replies = app.control.ping(timeout=1.0) or []
            if names <= {name for reply in replies for name in reply}:
                return
            for w in self.workers.values():
                if w.process.poll() is not None:
                    raise RuntimeError(f"worker {w.name} exited ({self.logs / f'worker-{w.vantage}.log'})")
        raise RuntimeError(f"workers {sorted(names)} did not answer within {seconds:.0f} s")

    # runs ------------------------------------------------------------------------------------

    def launch(self, job: str, tags: dict[str, str], mode: str = "demo", run_id: str | None = None, **settings) -> str:
        """Queue a run of `job` (the daemon starts it; its steps go to the workers); its id. `settings`:
        more of the run's `portal_index` resource configuration (e.g. audit_max_portals)."""
        from orchestration.submit import run_config, submit

        return submit(job, run_config(self.home.root, mode, **settings), tags, env=self.env(), run_id=run_id)

    def instance(self):
        """The cluster's Dagster instance, read from this process (its settings exported here first)."""
        from dagster import DagsterInstance

        export_env({k: v for k, v in self.env().items() if k.startswith(("PORTAL_INDEX_", "DAGSTER_"))})
        return DagsterInstance.from_config(str(self.home.dagster_home))

    # state -----------------------------------------------------------------------------------

    def save(self) -> None:
        (self.root / "cluster.json").write_text(json.dumps({"ports": self.ports, "postgres": self.postgres_folder}))

    @classmethod
    def load(cls, root: Path) -> LocalCluster:
        cluster = cls(root)
        state = json.loads((root / "cluster.json").read_text())
        cluster.ports, cluster.postgres_folder = state["ports"], state["postgres"]
        return cluster

    def stop(self) -> None:
        """Stop every process and server this cluster started (workers, daemon, Redis, PostgreSQL)."""
        processes = [p for p in [w.process for w in self.workers.values()] + [self.daemon] if p and p.poll() is None]
        stop_groups([p.pid for p in processes], 20, reap=lambda: [p.poll() for p in processes])
        for process in processes:
            process.wait()
        pid_file = self.root / "redis" / "redis.pid"
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        if not self.postgres_folder:  # PostgreSQL was never started
            return
        data = self.postgres_dir / "data"
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                _run(_as_postgres([postgres_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]))
        if (self.postgres_dir / "postgres.log").exists():
            shutil.copy(self.postgres_dir / "postgres.log", self.logs / "postgres.log")
        if self.postgres_dir != self.root / "postgres":  # a temporary folder (see postgres_dir)
            shutil.rmtree(self.postgres_dir, ignore_errors=True)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def stop_groups(groups: list[int], seconds: float, reap=lambda: None) -> None:
    """SIGTERM each process group (a worker and its step processes), give them `seconds` to finish
    their cleanup, then SIGKILL what is left. `reap` collects this process's own exited children,
    which would otherwise stay in their group as zombies."""
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while groups and time.monotonic() < deadline:
        reap()
        groups = [g for g in groups if _group_alive(g)]
        if groups:
            time.sleep(0.2)
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    reap()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.local_cluster", description=__doc__)
    parser.add_argument("command", choices=("up", "down"))
    parser.add_argument("--root", required=True, type=Path)
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.command == "down":
        cluster = LocalCluster.load(root)
        groups = []
        for pid_file in (root / "logs").glob("*.pid"):
            with contextlib.suppress(ValueError):
                groups.append(int(pid_file.read_text()))
            pid_file.unlink()
        stop_groups(groups, 30)  # workers finish their step's cleanup, then the servers stop
        cluster.stop()
        print(f"stopped the cluster in {root}")
        return 0
    cluster = LocalCluster(root)
    try:
        cluster.start_servers()
        cluster.start_daemon()
        for i, vantage in enumerate(cluster.vantages):
            queues = ("fetch", "browser", f"probe.{vantage}") + (("warehouse",) if i == 0 else ())
            cluster.start_worker(vantage, queues)
        cluster.wait_workers_ready()
    except BaseException:
        cluster.stop()  # nothing left running after a failed start
        raise
    for name, process in [("dagster-daemon", cluster.daemon)] + [
        (f"worker-{v}", w.process) for v, w in cluster.workers.items()
    ]:
        (root / "logs" / f"{name}.pid").write_text(str(process.pid))
    env = cluster.env()
    for key in sorted(k for k in env if k.startswith(("PORTAL_INDEX_", "DAGSTER_HOME"))):
        print(f"export {key}={env[key]}")
    print(f"# the cluster runs; `portal-index run --demo` submits its runs to it; stop it with: down --root {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
