"""The working folder's dbt build folders: the project's parse seeded into a new folder and kept from
each build for the next, and the older builds' target folders removed. No Dagster here: the scoring
assets (`assets.py`) call these around each `dbt build`."""

import contextlib
import re
import shutil
from pathlib import Path

from portal_index.core.atomic import replace_atomically
from portal_index.core.dbt_manifest import TARGET

PARTIAL_PARSE = "partial_parse.msgpack"
KEPT_BUILDS = 3  # dbt's artifacts (dbt.log, run_results.json, compiled SQL) of the latest builds, about 13 MB each


def copy_atomically(source: Path, target: Path) -> None:
    """`source` to `target`, replaced whole: a build starting meanwhile reads the old parse or the new,
    never half. A full disk leaves the old (the next build parses in full)."""
    with contextlib.suppress(OSError):
        replace_atomically(target, lambda staged: shutil.copyfile(source, staged))


def seed_partial_parse(folder: Path) -> None:
    """A working folder that has kept no parse yet (a new one) starts from the project's: the one
    `prepare_manifest` made for the definitions, with the same profile and target as the builds'
    (`portal_index.core.dbt_launcher`), instead of parsing the whole project (about 4 s of CPU)."""
    made = TARGET / PARTIAL_PARSE
    if (folder / PARTIAL_PARSE).exists() or not made.exists() or folder.resolve() == TARGET.resolve():
        return
    folder.mkdir(parents=True, exist_ok=True)
    copy_atomically(made, folder / PARTIAL_PARSE)


def keep_partial_parse(build_target: Path) -> None:
    """Keep the build's parse for the next build in this working folder (dagster-dbt gives each
    invocation its own target folder and seeds it from `dbt_kept_parse_folder()`). The profile's
    target is the same for every working folder, so a copied folder's parse serves the copy too."""
    parsed = build_target / PARTIAL_PARSE
    if parsed.exists():
        copy_atomically(parsed, build_target.parent / PARTIAL_PARSE)


def prune_builds(build_target: Path, keep: int = KEPT_BUILDS) -> list[Path]:
    """Remove the target folders of this working folder's older dbt builds, keeping the `keep` newest
    (this one among them); returns what was removed. dagster-dbt gives every invocation a folder of its
    own (`<op>-<first 7 of the run id>-<random 7>`) and never removes one: a working folder built every
    hour grew by about 13 MB a run (measured with dbt's file log at info level). Only folders named
    so for the same op are touched."""
    op = build_target.name.rsplit("-", 2)[0]
    pattern = re.compile(re.escape(op) + r"-[0-9a-f]{7}-[0-9a-f]{7}")
    builds = []
    for path in build_target.parent.iterdir():
        if path != build_target and pattern.fullmatch(path.name) and path.is_dir() and not path.is_symlink():
            with contextlib.suppress(FileNotFoundError):  # removed meanwhile
                builds.append((path.stat().st_mtime, path))
    removed = [path for _, path in sorted(builds, reverse=True)[max(keep - 1, 0) :]]
    for old in removed:
        shutil.rmtree(old, ignore_errors=True)  # a file still held elsewhere stays; the next build tries again
    return removed
