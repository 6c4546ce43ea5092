"""One run at a time on a working folder.

`hold(home_root, command)` takes an exclusive `fcntl.flock` on `<home>/.run.lock` for as long as the
`with` block lasts. The kernel is the only judge of who holds it: the lock goes when its holder's
file is closed, that is when the process ends, however it ends (SIGKILL and a power cut included),
so a lock file left behind never blocks anyone. What the file says (the holder's pid, command, host
and start time, one JSON line) is only informative: it is what `Busy` tells the second run.

    with run_lock.hold(home.root, "portal-index run"):
        ...  # nobody else is running on this working folder

The lock is per open file: a second `hold` on the same folder, even in the same process, is Busy.
flock is reliable on local file systems; on NFS it may be emulated with byte-range locks or ignored,
so keep working folders on local disks.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

LOCK_NAME = ".run.lock"


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) the lock, as its file says."""

    pid: int | None
    command: str | None
    since: str | None  # ISO 8601, UTC, e.g. 2026-11-26T13:00:00Z
    host: str | None

    def describe(self) -> str:
        if self.pid is None:
            return "another process (it has not written its details yet)"
        where = f" on host {self.host}" if self.host and self.host != socket.gethostname() else ""
        text = f"`{self.command or '?'}` pid {self.pid}{where} since {self.since or '?'}"
        if not where and not _alive(self.pid):  # a child that inherited the lock outlived it
            text += f" (pid {self.pid} has ended; a process it started still holds the lock)"
        return text


class Busy(RuntimeError):
    """The working folder is held by another live run."""

    def __init__(self, home_root: Path, holder: Holder):
        self.home_root, self.holder = home_root, holder
        super().__init__(f"working folder {home_root} is busy: {holder.describe()}; wait for it or pass --wait")

    @property
    def pid(self) -> int | None:
        return self.holder.pid

    @property
    def command(self) -> str | None:
        return self.holder.command


def lock_path(home_root: Path) -> Path:
    return Path(home_root) / LOCK_NAME


@contextmanager
def hold(
    home_root: Path, command: str, wait: bool = False, on_wait: Callable[[Busy], None] | None = None
) -> Iterator[Holder]:
    """Hold the working folder for the block; `Busy` if another live process holds it, or with
    `wait`, block until it is free (`on_wait(busy)` is called once first, e.g. to say so)."""
    home_root = Path(home_root)
    home_root.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(home_root), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            busy = Busy(home_root, _read_holder(fd))
            if not wait:
                raise busy from None
            if on_wait is not None:
                on_wait(busy)
            fcntl.flock(fd, fcntl.LOCK_EX)  # blocks until the holder ends; Ctrl-C interrupts it
        me = Holder(os.getpid(), command, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), socket.gethostname())
        _write(fd, json.dumps({"pid": me.pid, "command": me.command, "since": me.since, "host": me.host}) + "\n")
        try:
            yield me
        finally:
            os.ftruncate(fd, 0)  # free again; a killed holder leaves its line, which is harmless
    finally:
        os.close(fd)  # releases the flock


def _write(fd: int, text: str) -> None:
    data = text.encode("utf-8")
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def _read_holder(fd: int, patience: float = 1.0) -> Holder:
    """The holder's line; a holder that has just taken the lock may not have written it yet."""
    deadline = time.monotonic() + patience
    while True:
        raw = os.pread(fd, 4096, 0)
        try:
            d = json.loads(raw.decode("utf-8"))
            return Holder(int(d["pid"]), d.get("command"), d.get("since"), d.get("host"))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            if time.monotonic() >= deadline:
                return Holder(None, None, None, None)
            time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
