import json
import os
import stat

from portal_index.land.snapshots import land, list_snapshots, sha256_file


def test_a_snapshot_keeps_the_original_bytes_with_a_provenance_sidecar(tmp_path):
    src = tmp_path / "khao-sat.xlsx"
    src.write_bytes(b"original bytes \x00\xff")
    snap, new = land(tmp_path / "snapshots", "surveys", src, origin="inbox/surveys/khao-sat.xlsx")
    assert new and snap.path.read_bytes() == src.read_bytes()
    sidecar = json.loads((snap.path.parent / "sidecar.json").read_text())
    assert sidecar["sha256"] == sha256_file(src) and sidecar["bytes"] == 17
    assert sidecar["origin"] == "inbox/surveys/khao-sat.xlsx" and sidecar["source"] == "surveys"
    assert not os.stat(snap.path).st_mode & stat.S_IWUSR  # read-only


def test_landing_the_same_bytes_twice_is_a_no_op(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x")
    b.write_text("x")
    first, new1 = land(tmp_path / "s", "papi", a, origin="a")
    second, new2 = land(tmp_path / "s", "papi", b, origin="b")
    assert new1 and not new2 and second.path == first.path and second.origin == "a"
    assert len(list_snapshots(tmp_path / "s", "papi")) == 1
