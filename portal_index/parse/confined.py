"""Parsing an untrusted file in a child process with a memory and a time limit, so that whatever
the file makes a library do (a header line of hundreds of megabytes inside warcio, a native abort)
ends as a rejection of that file, never as the pipeline's memory or time.

    tables = confined("portal_index.parse.fetch_results:parse_crawl", path)

The child imports the named function, calls it on the path and sends back its tables, or the
`InputRejected` it raised, pickled.
"""

from __future__ import annotations

import importlib
import pickle
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from portal_index.core.problems import InputRejected, Problem


@dataclass(frozen=True)
class ChildLimits:
    memory_bytes: int = 600_000_000  # beyond the interpreter's start-up: 1 GB of address space in all
    seconds: float = 300.0
    result_bytes: int = 500_000_000  # the pickled tables sent back
    startup_bytes: int = 400_000_000  # the interpreter and the parser's imports


CHILD = ChildLimits()


def confined(function: str, path: Path, limits: ChildLimits = CHILD, what: str = "a file"):
    """`function` ("module:name") applied to `path` in a confined child process; `what` the file is,
    for the rejections of the limits."""

    def confine():
        soft = limits.memory_bytes + limits.startup_bytes
        resource.setrlimit(resource.RLIMIT_AS, (soft, soft))

    def reject(value: str, expected: str) -> InputRejected:
        return InputRejected([Problem(path.name, None, None, None, value, expected)])

    try:
        done = subprocess.run(
            [sys.executable, "-m", "portal_index.parse.confined", function, str(path)],
            capture_output=True,
            timeout=limits.seconds,
            preexec_fn=confine,
        )
    except subprocess.TimeoutExpired:
        raise reject(f"still reading after {limits.seconds:g} s", f"{what} read within {limits.seconds:g} s") from None
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        reason = "it ran out of memory" if done.returncode < 0 or "memory" in tail[0].lower() else tail[0][:200]
        raise reject(
            f"the reader stopped: {reason} (exit {done.returncode})",
            f"{what} read within {limits.memory_bytes:,} bytes of memory",
        )
    if len(done.stdout) > limits.result_bytes:
        raise reject(f"{len(done.stdout):,} bytes of rows", f"at most {limits.result_bytes:,} bytes of rows")
    status, payload = pickle.loads(done.stdout)
    if status == "rejected":
        raise InputRejected(payload)
    return payload


def _child(function: str, path: str) -> None:
    module, name = function.split(":")
    try:
        result = ("ok", getattr(importlib.import_module(module), name)(Path(path)))
    except InputRejected as e:
        result = ("rejected", e.problems)
    sys.stdout.buffer.write(pickle.dumps(result))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
