"""Immutable raw inputs with provenance sidecars.

A snapshot is the original bytes of one input file, stored under
`snapshots/<source>/<sha256>/<original name>` next to `sidecar.json` (source, origin, original name,
landed_at, sha256, bytes). Landing the same bytes twice is a no-op. Nothing here ever rewrites or
deletes a snapshot, whatever later happens when it is parsed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from portal_index.config import SOURCES

SIDECAR = "sidecar.json"


@dataclass(frozen=True)
class Snapshot:
    source: str
    sha256: str
    original_name: str
    origin: str
    landed_at: str
    bytes: int
    path: Path

    def sidecar(self) -> dict:
        data = asdict(self)
        data.pop("path")
        return data


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def land(root: Path, source: str, file: Path, origin: str, move: bool = False) -> tuple[Snapshot, bool]:
    """Copy `file` into the snapshot store (move it, with `move`, when it is our own scratch file on
    the same file system). Returns (snapshot, newly_landed)."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    file = Path(file)
    sha = sha256_file(file)
    folder = root / source / sha
    if (folder / SIDECAR).exists():
        return read(folder), False
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{sha[:12]}-", dir=folder.parent))
    target = staging / file.name
    if move:
        shutil.move(file, target)
    else:
        shutil.copyfile(file, target)
    if not move and sha256_file(target) != sha:
        shutil.rmtree(staging)
        raise OSError(f"{file}: changed while it was being copied; try again")
    snapshot = Snapshot(
        source=source,
        sha256=sha,
        original_name=file.name,
        origin=origin,
        landed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        bytes=target.stat().st_size,
        path=folder / file.name,
    )
    (staging / SIDECAR).write_text(json.dumps(snapshot.sidecar(), ensure_ascii=False, indent=2) + "\n")
    os.chmod(target, 0o444)
    try:
        staging.rename(folder)
    except OSError:  # another process landed the same bytes first
        shutil.rmtree(staging, ignore_errors=True)
        return read(folder), False
    return snapshot, True


def read(folder: Path) -> Snapshot:
    meta = json.loads((folder / SIDECAR).read_text())
    return Snapshot(path=folder / meta["original_name"], **meta)


def list_snapshots(root: Path, source: str) -> list[Snapshot]:
    base = root / source
    if not base.exists():
        return []
    found = [read(p) for p in base.iterdir() if (p / SIDECAR).exists()]
    return sorted(found, key=lambda s: (s.landed_at, s.sha256))
