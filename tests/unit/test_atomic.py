"""A file replaced whole (portal_index/core/atomic.py): the old one stays when writing fails, and
no staged file is left behind either way."""

import os

import pytest

from portal_index.core.atomic import replace_atomically


def test_a_failed_write_leaves_the_old_file_and_no_staged_one(tmp_path):
    target = tmp_path / "dagster.yaml"
    target.write_text("old\n", encoding="utf-8")

    def half(staged):
        staged.write_text("ne", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_atomically(target, half)
    assert target.read_text(encoding="utf-8") == "old\n" and os.listdir(tmp_path) == ["dagster.yaml"]

    old = os.umask(0o022)
    try:
        replace_atomically(target, lambda staged: staged.write_text("new\n", encoding="utf-8"))
    finally:
        os.umask(old)
    assert target.read_text(encoding="utf-8") == "new\n" and os.listdir(tmp_path) == ["dagster.yaml"]
    assert target.stat().st_mode & 0o777 == 0o644
