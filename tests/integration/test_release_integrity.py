"""A release anyone can check and rebuild: `verify` finds a changed, added or unlisted file, an
edited descriptor or README and a rewritten SHA256SUMS, and still reads a release from before
SHA256SUMS; `reproduce` rebuilds the same data files from the snapshots (the rest of what releases
promise: test_releases.py)."""

import json
import shutil
import subprocess

import pytest
from conftest import cli

from portal_index.land.snapshots import sha256_file
from portal_index.release.publish import INDEX, SUMS, read_index, write_checksums
from portal_index.release.verify import check

pytestmark = pytest.mark.slow  # reads the demo's release; `reproduce` runs the pipeline again


def test_verify_finds_a_tampered_file_and_an_unlisted_one(demo_run, tmp_path):
    home, _ = demo_run
    copy = tmp_path / "release"
    shutil.copytree((home.releases / "latest").resolve(), copy)
    assert cli("verify", str(copy), home=tmp_path / "h").returncode == 0
    data = copy / "data" / "portal_scores.csv"
    data.write_bytes(data.read_bytes().replace(b",A,", b",B,", 1))
    (copy / "data" / "extra.csv").write_text("x\n")
    result = cli("verify", str(copy), home=tmp_path / "h")
    assert result.returncode == 1
    assert "  - data/portal_scores.csv: sha256" in result.stderr and "the descriptor says" in result.stderr
    assert "  - data/extra.csv: not listed in the descriptor" in result.stderr


def _edit_json(path, **changes):
    d = json.loads(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            d.pop(key)
        else:
            d[key] = value
    path.write_text(json.dumps(d, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def test_sha256sums_covers_every_file_the_descriptor_and_readme_included(demo_run):
    home, _ = demo_run
    folder = (home.releases / "latest").resolve()
    lines = (folder / SUMS).read_text(encoding="utf-8").splitlines()
    paths = [line.split("  ", 1)[1] for line in lines]
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert paths == sorted(paths) == [f for f in files if f != SUMS]
    assert {"datapackage.json", "README.md", "data/portal_scores.csv"} <= set(paths)
    assert json.loads((folder / "datapackage.json").read_text())["checksums"] == SUMS
    done = subprocess.run(["sha256sum", "--check", "--strict", SUMS], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr  # standard tools check it too
    [entry] = [e for e in read_index(home.releases) if e["version"] == folder.name]
    assert entry["sha256sums"] == sha256_file(folder / SUMS)
    assert entry["datapackage"] == sha256_file(folder / "datapackage.json")


def test_verify_finds_an_edited_descriptor_or_readme(demo_run, tmp_path):
    home, _ = demo_run
    original = (home.releases / "latest").resolve()
    copy = tmp_path / "release"  # a copy elsewhere: SHA256SUMS is all there is to go by
    shutil.copytree(original, copy)
    descriptor = copy / "datapackage.json"
    d = json.loads(descriptor.read_text())
    edits = {
        "title": lambda: _edit_json(descriptor, title=d["title"].replace(" (DEMO", " (demo")),
        "demo flag": lambda: _edit_json(descriptor, demo=False),
        "version": lambda: _edit_json(descriptor, version="9.0.0"),
        "snapshot list": lambda: _edit_json(descriptor, snapshots=d["snapshots"][1:]),
        "README": lambda: (copy / "README.md").write_text(
            (original / "README.md").read_text(encoding="utf-8").replace("Phiên bản", "Phien ban"), encoding="utf-8"
        ),
    }
    for what, edit in edits.items():
        edit()
        problems = check(copy).problems
        name = "README.md" if what == "README" else "datapackage.json"
        assert problems and problems[0].startswith(f"{name}: sha256 "), (what, problems)
        assert f"{SUMS} says" in problems[0], (what, problems)
        shutil.copy2(original / name, copy / name)
    assert check(copy).ok  # and the untouched copy passes, with the note that SHA256SUMS is not anchored
    result = cli("verify", str(copy), home=tmp_path / "h")
    assert result.returncode == 0, result.stderr


def test_verify_in_its_working_folder_catches_a_rewritten_sha256sums(demo_copy, tmp_path):
    folder = demo_copy.releases / "1.0.0"
    published = sha256_file(folder / SUMS)  # what the release notes would carry
    v = check(folder)
    assert v.ok and v.anchors == [f"the release index {demo_copy.releases / INDEX}"] and not v.notes
    assert v.sums_sha256 == published
    # someone edits the descriptor and regenerates SHA256SUMS to match
    _edit_json(folder / "datapackage.json", demo=False)
    write_checksums(folder)
    problems = check(folder).problems
    assert any(p.startswith(f"{SUMS}: sha256 ") and "rewritten since" in p for p in problems), problems
    assert any(p.startswith("datapackage.json: sha256 ") and "rewritten since" in p for p in problems), problems
    result = cli("verify", str(folder), home=demo_copy.root)
    assert result.returncode == 1 and "rewritten since" in result.stderr
    # the same folder copied elsewhere passes (its files match its SHA256SUMS), and says what it cannot prove
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    v = check(copy)
    assert v.ok and not v.anchors and "nothing proves SHA256SUMS itself was not rewritten" in v.notes[0]
    assert v.sums_sha256 in v.notes[0]
    # unless the checksum published elsewhere is given
    assert any("the published checksum is" in p for p in check(copy, published=published).problems)
    # removing SHA256SUMS (and the descriptor's mention of it), or the index, does not escape either
    (folder / SUMS).unlink()
    _edit_json(folder / "datapackage.json", checksums=None)
    assert any(f"{SUMS}: missing, but {INDEX} recorded one" in p for p in check(folder).problems)
    (demo_copy.releases / INDEX).unlink()
    write_checksums(folder)
    assert any(f"{INDEX}: missing" in p for p in check(folder).problems)


def test_a_release_written_before_sha256sums_still_verifies_with_a_note(demo_run, tmp_path):
    home, _ = demo_run
    old = tmp_path / "1.0.0"  # as releases were written before SHA256SUMS and the release index
    shutil.copytree((home.releases / "latest").resolve(), old)
    (old / SUMS).unlink()
    _edit_json(old / "datapackage.json", checksums=None)
    v = check(old)
    assert v.ok and v.sums_sha256 is None
    assert v.notes == [
        "written before releases had SHA256SUMS: the files the descriptor lists are checked, "
        "but datapackage.json and README.md themselves are covered by no checksum"
    ]
    (old / "data" / "portals.csv").write_text("portal_id\n")  # what it checked before, it still checks
    assert any(p.startswith("data/portals.csv: ") and "the descriptor says" in p for p in check(old).problems)
    # a descriptor that says there is a SHA256SUMS, without one
    shutil.copy2((home.releases / "latest").resolve() / "datapackage.json", old / "datapackage.json")
    assert f"{SUMS}: missing (the descriptor says the release has one)" in check(old).problems


def test_reproduce_rebuilds_the_same_data_files_from_the_snapshots(demo_copy):
    result = cli("reproduce", "1.0.0", home=demo_copy.root)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "identical: every data file (CSV and Parquet) has the same sha256" in result.stdout
