"""A publisher killed (SIGKILL) after its release folder is in place but before `latest` moves:
the next publish finishes it (latest, release index) instead of failing on the taken version, and
nothing is lost or rewritten. A folder it cannot vouch for is refused with a plain message."""

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import change_and_validate

from portal_index.release.publish import INDEX, UnfinishedRelease, publish, read_index
from portal_index.release.verify import check

pytestmark = pytest.mark.slow  # runs the whole pipeline once per session

ROOT = Path(__file__).resolve().parents[2]

# A publisher that kills itself at `point`: right after renaming its staging folder into place, or
# right after recording the release in the index; in both cases before `latest` moves.
KILLED_PUBLISHER = """
import os, signal, sys
from pathlib import Path
import portal_index.release.publish as publishing

home, point = Path(sys.argv[1]), sys.argv[2]
record_release = publishing.record_release

def die():
    os.kill(os.getpid(), signal.SIGKILL)

class Os:  # the publisher's `os`, with a rename that dies once the release is in place
    def __getattr__(self, name):
        return getattr(os, name)

    def rename(self, src, dst):
        os.rename(src, dst)
        if point == "after-rename" and Path(src).name.startswith(".staging-"):
            die()

def record(releases, folder):
    entry = record_release(releases, folder)
    if point == "after-index":
        die()
    return entry

publishing.os, publishing.record_release = Os(), record
publishing.publish(home / "warehouse.duckdb", home / "releases", log=print)
print("not killed")
"""


def latest(releases: Path) -> str | None:
    link = releases / "latest"
    return link.resolve().name if link.exists() else None


@pytest.mark.parametrize(
    "point, first",
    [("after-rename", False), ("after-index", False), ("after-rename", True)],
    ids=["killed-after-rename", "killed-after-index", "first-release-killed-after-rename"],
)
def test_a_publish_killed_before_latest_moves_is_finished_by_the_next(demo_copy, point, first):
    releases = demo_copy.releases
    if first:  # the very first publish of a working folder is killed: there is no `latest` yet
        shutil.rmtree(releases)
        old, new = None, "1.0.0"
    else:
        change_and_validate(
            demo_copy, "update marts.portals set name_vi = name_vi || '.' where portal_id = 'hanoi-info'"
        )
        old, new = "1.0.0", "1.0.1"
    index_before = (releases / INDEX).read_bytes() if (releases / INDEX).exists() else b""
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_PUBLISHER, str(demo_copy.root), point],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr[-3000:]

    # the state that made every later publish fail with FileExistsError: a whole release, not `latest`
    folder = releases / new
    assert folder.is_dir() and latest(releases) == old
    written = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    recorded = [e["version"] for e in read_index(releases)]
    assert recorded == [v for v in (old, new if point == "after-index" else None) if v]
    if point == "after-rename":
        assert any("interrupted before recording it" in p for p in check(folder).problems)  # not yet vouched for

    # the next publish finishes it: `latest` moves, the index records it; the same data make no new release
    said = []
    result = publish(demo_copy.warehouse, releases, log=said.append)
    assert result.version is None and result.unchanged_since == new, said
    assert latest(releases) == new
    assert any(f"finished an interrupted publish: releases/latest now points at {new}" in m for m in said)
    assert [e["version"] for e in read_index(releases)] == [v for v in (old, new) if v]
    assert (releases / INDEX).read_bytes().startswith(index_before)  # appended, earlier lines kept
    assert {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == written
    for version in (old, new):
        if version:
            v = check(releases / version)
            assert v.ok and v.anchors and not v.notes, (version, v)

    # and publishing carries on from it
    change_and_validate(
        demo_copy,
        "insert into marts.ministries values ('BTEST', 'Bộ Thử nghiệm', 'Ministry of Testing', null, null, null)",
    )
    result = publish(demo_copy.warehouse, releases, log=lambda m: None)
    following = "1.1.0"  # rows added: minor
    assert result.version == following and latest(releases) == following
    assert json.loads((result.path / "datapackage.json").read_text())["changes"]["previous_version"] == new
    expected = [".publish.lock", *[v for v in (old, new) if v], following, INDEX, "latest"]
    assert sorted(p.name for p in releases.iterdir()) == sorted(expected)  # nothing half-done left behind


def test_a_folder_the_publisher_cannot_vouch_for_is_refused_plainly(demo_copy):
    releases = demo_copy.releases
    shutil.copytree(releases / "1.0.0", releases / "2.0.0")  # by hand: not a release built on 1.0.0
    before = sorted(p.name for p in releases.iterdir())
    with pytest.raises(UnfinishedRelease, match=r"2\.0\.0 is newer than releases/latest \(1\.0\.0\) but cannot be"):
        publish(demo_copy.warehouse, releases, log=lambda m: None)
    assert sorted(p.name for p in releases.iterdir()) == before and latest(releases) == "1.0.0"
    shutil.rmtree(releases / "2.0.0")  # once a person has looked at it and moved it away
    assert publish(demo_copy.warehouse, releases, log=lambda m: None).unchanged_since == "1.0.0"
