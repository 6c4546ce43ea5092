"""Helper processes started by the pipeline (a crawl shard, the release workbook) read their job
from stdin and keep it open: when the parent closes it, or dies, they end too."""

from __future__ import annotations

import os
import threading


def exit_with_parent(code: int) -> None:
    """End this process with `code` as soon as its stdin closes (a thread watches it)."""

    def watch() -> None:
        while os.read(0, 4096):  # unbuffered: returns b"" when the parent closes our stdin, or dies
            pass
        os._exit(code)

    threading.Thread(target=watch, daemon=True).start()
