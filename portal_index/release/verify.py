"""Checking a release: `verify` (hashes and descriptor) and `reproduce` (rebuild from snapshots).

What `verify` can prove, and what it cannot, is written down in docs/releases.md ("What verify
proves"): every byte of a release is checked against SHA256SUMS, and SHA256SUMS against the release
index of the working folder it lives in (or a checksum published elsewhere); a copy without either
is only as good as its own SHA256SUMS.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from portal_index.config import REPO_ROOT, Home, child_env
from portal_index.land.snapshots import sha256_file
from portal_index.release.publish import INDEX, SUMS, code_version, data_hashes, file_problems, read_index


@dataclass
class Verification:
    folder: Path
    problems: list[str] = field(default_factory=list)  # any problem: the release is not intact
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why
    sums_sha256: str | None = None  # the sha256 of SHA256SUMS: compare it with the published one
    anchors: list[str] = field(default_factory=list)  # what SHA256SUMS was checked against

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(folder: Path) -> list[str]:
    """Every problem found in a release folder; an empty list means it is intact and valid."""
    return check(folder).problems


def check(folder: Path, published: str | None = None) -> Verification:
    """Check a release folder: every file against the descriptor and SHA256SUMS, SHA256SUMS and the
    descriptor against the release index beside the folder (`releases/index.jsonl`) and against
    `published`, the sha256 of SHA256SUMS as published elsewhere (release notes, a website), when
    given; then the descriptor and every table with Frictionless."""
    folder = Path(folder).resolve()  # releases/latest is a link
    v = Verification(folder)
    descriptor_path = folder / "datapackage.json"
    if not descriptor_path.exists():
        v.problems.append(f"{folder}: no datapackage.json")
        return v
    hashes: dict[str, str] = {}
    v.problems += file_problems(folder, hashes)
    has_sums = (folder / SUMS).is_file()
    if has_sums:
        v.sums_sha256 = sha256_file(folder / SUMS)
    _check_index(folder, v, has_sums, hashes)
    if published is not None:
        expected = published.strip().lower()
        if v.sums_sha256 is None:
            v.problems.append(f"{SUMS}: missing, so the published checksum {expected[:16]}… cannot be compared")
        elif v.sums_sha256 != expected:
            v.problems.append(f"{SUMS}: sha256 {v.sums_sha256[:16]}…, the published checksum is {expected[:16]}…")
        else:
            v.anchors.append("the published checksum given")
    if not has_sums and not _claims_sums(descriptor_path):
        v.notes.append(
            f"written before releases had {SUMS}: the files the descriptor lists are checked, "
            "but datapackage.json and README.md themselves are covered by no checksum"
        )
    elif has_sums and not v.anchors:
        v.notes.append(
            f"every file matches {SUMS}, but with no release index beside this folder and no published "
            f"checksum given, nothing proves {SUMS} itself was not rewritten along with them: compare its "
            f"sha256 {v.sums_sha256} with the one published for this release"
        )
    from frictionless import validate

    from portal_index.release.parquet_cells import arrow_parquet

    with arrow_parquet():
        report = validate(str(descriptor_path))
    if not report.valid:
        for task in report.tasks:
            for error in task.errors[:5]:
                v.problems.append(f"{task.name}: {error.type}: {error.message}")
        for error in report.errors[:5]:
            v.problems.append(f"datapackage.json: {error.type}: {error.message}")
    return v


def _check_index(folder: Path, v: Verification, has_sums: bool, hashes: dict[str, str]) -> None:
    """SHA256SUMS and the descriptor against what the publisher recorded for this release."""
    releases = folder.parent
    index = releases / INDEX
    if not index.exists():
        if has_sums and ((releases / "latest").is_symlink() or (releases / ".publish.lock").exists()):
            v.problems.append(
                f"{index}: missing beside a working folder's releases, though this release has {SUMS}: the index "
                f"was deleted (and nothing proves {SUMS} was not rewritten), or the publish was "
                "interrupted before recording it, which the next publish finishes"
            )
        return
    try:
        entries = [e for e in read_index(releases) if e["version"] == folder.name]
    except ValueError as e:
        v.problems.append(f"{INDEX}: {e}")
        return
    if not entries:
        if has_sums:
            v.problems.append(
                f"release {folder.name} is not recorded in {index}: it was not published in this working folder, "
                "or the publish was interrupted before recording it, which the next publish finishes"
            )
        return
    if len(entries) > 1:
        v.problems.append(f"{index}: release {folder.name} is recorded {len(entries)} times")
        return
    entry, before = entries[0], len(v.problems)
    if not has_sums:
        v.problems.append(f"{SUMS}: missing, but {INDEX} recorded one for this release ({entry['sha256sums'][:16]}…)")
    elif v.sums_sha256 != entry["sha256sums"]:
        v.problems.append(
            f"{SUMS}: sha256 {v.sums_sha256[:16]}…, {INDEX} recorded {entry['sha256sums'][:16]}… "
            "when it was published: rewritten since"
        )
    descriptor_sha = hashes.get("datapackage.json") or sha256_file(folder / "datapackage.json")
    if descriptor_sha != entry["datapackage"]:
        v.problems.append(
            f"datapackage.json: sha256 {descriptor_sha[:16]}…, {INDEX} recorded {entry['datapackage'][:16]}… "
            "when it was published: rewritten since"
        )
    if len(v.problems) == before:
        v.anchors.append(f"the release index {index}")


def _claims_sums(descriptor_path: Path) -> bool:
    try:
        return bool(json.loads(descriptor_path.read_text(encoding="utf-8")).get("checksums"))
    except (ValueError, AttributeError):
        return False


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
