"""Checking a release: `verify` (hashes and descriptor) and `reproduce` (rebuild from snapshots)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from portal_index.config import REPO_ROOT, Home, child_env
from portal_index.land.snapshots import sha256_file
from portal_index.release.publish import code_version, data_hashes

DESCRIBING = {"datapackage.json", "README.md"}  # the files that describe the others


def verify(folder: Path) -> list[str]:
    """Every problem found in a release folder; an empty list means it is intact and valid."""
    descriptor_path = folder / "datapackage.json"
    if not descriptor_path.exists():
        return [f"{folder}: no datapackage.json"]
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    problems = []
    listed = set()
    for f in descriptor.get("files", []):
        path = folder / f["path"]
        listed.add(f["path"])
        if not path.exists():
            problems.append(f"{f['path']}: missing")
        elif path.stat().st_size != f["bytes"]:
            problems.append(f"{f['path']}: {path.stat().st_size} bytes, the descriptor says {f['bytes']}")
        elif sha256_file(path) != f["sha256"]:
            problems.append(f"{f['path']}: sha256 {sha256_file(path)[:16]}…, the descriptor says {f['sha256'][:16]}…")
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and rel not in listed and rel not in DESCRIBING:
            problems.append(f"{rel}: not listed in the descriptor")
    from frictionless import validate

    report = validate(str(descriptor_path))
    if not report.valid:
        for task in report.tasks:
            for error in task.errors[:5]:
                problems.append(f"{task.name}: {error.type}: {error.message}")
        for error in report.errors[:5]:
            problems.append(f"datapackage.json: {error.type}: {error.message}")
    return problems


@dataclass
class Reproduction:
    identical: bool
    differing: list[str]
    rebuilt: Path
    code_note: str


def reproduce(home: Home, version: str, keep: bool = False, log=print, this_code: bool = False) -> Reproduction:
    """Rebuild `version` from its snapshots in a fresh working folder and compare its data files;
    with the code that built it (from git), or with `this_code`, this checkout as it is (does a
    change of code keep the published data?)."""
    release = home.releases / version
    descriptor = json.loads((release / "datapackage.json").read_text(encoding="utf-8"))
    scratch = Home(Path(tempfile.mkdtemp(prefix=f"reproduce-{version}-"))).ensure()
    for snap in descriptor["snapshots"]:
        source = home.snapshots / snap["source"] / snap["sha256"]
        if not source.exists():
            raise FileNotFoundError(
                f"snapshot {snap['sha256'][:12]} ({snap['original_name']}) is not in {home.snapshots}"
            )
        shutil.copytree(source, scratch.snapshots / snap["source"] / snap["sha256"])
    if this_code:
        code_dir, note = REPO_ROOT, f"this checkout ({code_version()}), not the recorded {descriptor['code_version']}"
    else:
        code_dir, note = _code_for(descriptor["code_version"], log)
    env = child_env(PYTHONPATH=str(code_dir))
    env.pop("PORTAL_INDEX_HOME", None)
    result = subprocess.run(
        [sys.executable, "-m", "portal_index.cli", "--home", str(scratch.root), "run", "--mode", "inbox"],
        cwd=code_dir,
        env=env,
        capture_output=True,
        text=True,
    )
    if code_dir != REPO_ROOT:
        subprocess.run(
            ["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(code_dir)], capture_output=True
        )
    if result.returncode != 0:
        raise RuntimeError(f"the rebuild failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    rebuilt = (scratch.releases / "latest").resolve()
    ours, theirs = data_hashes(release), data_hashes(rebuilt)
    differing = sorted(name for name in set(ours) | set(theirs) if ours.get(name) != theirs.get(name))
    if not keep:
        shutil.rmtree(scratch.root, ignore_errors=True)
    return Reproduction(not differing, differing, rebuilt, note)


def _code_for(recorded: str, log) -> tuple[Path, str]:
    """The checkout to rebuild with: this one when it is the recorded version, else a git worktree."""
    current = code_version()
    if recorded == current and not recorded.endswith("-dirty"):
        return REPO_ROOT, f"code {recorded} (this checkout)"
    commit = recorded.split("+", 1)[-1].removesuffix("-dirty")
    target = Path(tempfile.mkdtemp(prefix="reproduce-code-")) / "src"
    added = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", str(target), commit],
        capture_output=True,
        text=True,
    )
    if added.returncode != 0:
        log(f"code {recorded} is not in this repository; rebuilding with {current}")
        return REPO_ROOT, f"code {current}, not the recorded {recorded}"
    dirty = (
        " (the release was built from uncommitted changes, so the rebuild may differ)"
        if recorded.endswith("-dirty")
        else ""
    )
    return target, f"code {commit} checked out from git{dirty}"
