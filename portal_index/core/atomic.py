"""A file replaced whole: written beside its target under a name of its own, then renamed over it, so
that a reader meanwhile sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def replace_atomically(target: Path, write: Callable[[Path], object]) -> None:
    """`write(staged)` fills a file beside `target` (created with the usual permissions), which then
    replaces `target`. On any error the staged file is removed and the error raised; `target` is as
    it was."""
    staged = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        write(staged)
        staged.replace(target)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
