"""One run at a time on a working folder (portal_index.core.run_lock): a second run is told who
holds the folder, can wait for it, and a lock file left by a killed run blocks nobody."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from portal_index.core.run_lock import LOCK_NAME, Busy, hold

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys
from pathlib import Path
from portal_index.core.run_lock import hold
with hold(Path(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()  # holds the folder until the test closes its stdin
"""


def start_holder(home: Path, command: str) -> subprocess.Popen:
    """Another process that holds `home` until its stdin is closed."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home), command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert child.stdout.readline().strip() == "held"
    return child


def release(child: subprocess.Popen) -> None:
    child.stdin.close()
    assert child.wait(timeout=30) == 0


def test_a_second_run_is_told_which_run_holds_the_folder(tmp_path):
    child = start_holder(tmp_path, "portal-index run")
    try:
        with pytest.raises(Busy) as busy:
            with hold(tmp_path, "portal-index release"):
                pytest.fail("two runs held the same working folder")
        assert busy.value.pid == child.pid and busy.value.command == "portal-index run"
        assert re.fullmatch(
            rf"working folder {re.escape(str(tmp_path))} is busy: `portal-index run` pid {child.pid} "
            r"since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; wait for it or pass --wait",
            str(busy.value),
        ), str(busy.value)
    finally:
        release(child)
    with hold(tmp_path, "portal-index release"):  # free once the first run ends
        pass


def test_wait_blocks_until_the_holder_ends(tmp_path):
    child = start_holder(tmp_path, "portal-index run --mode inbox")
    told, acquired = [], threading.Event()

    def second_run():
        with hold(tmp_path, "portal-index release", wait=True, on_wait=told.append):
            acquired.set()

    waiter = threading.Thread(target=second_run)
    waiter.start()
    try:
        assert not acquired.wait(0.5)  # still held by the child
        assert [b.pid for b in told] == [child.pid] and told[0].command == "portal-index run --mode inbox"
    finally:
        release(child)
    assert acquired.wait(30)
    waiter.join(30)


def test_a_lock_file_left_by_a_killed_run_does_not_block(tmp_path):
    child = start_holder(tmp_path, "portal-index run")
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL
    stale = json.loads((tmp_path / LOCK_NAME).read_text())
    assert stale["pid"] == child.pid  # the dead run's line is still there, and means nothing
    with hold(tmp_path, "portal-index run") as me:
        assert me.pid == os.getpid()
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()


def test_the_lock_file_says_who_holds_it_and_is_emptied_after(tmp_path):
    home = tmp_path / "not-yet"  # the working folder is created when missing
    with hold(home, "portal-index crawl --demo") as me:
        line = json.loads((home / LOCK_NAME).read_text())
        assert line["pid"] == os.getpid() and line["command"] == "portal-index crawl --demo" and line["host"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", line["since"]) and line["since"] == me.since
        with pytest.raises(Busy, match=f"pid {os.getpid()}"):  # per open file: the same process is a second run
            with hold(home, "portal-index release"):
                pass
    assert (home / LOCK_NAME).read_text() == ""
