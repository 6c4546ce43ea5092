"""How `make test` hands out its test files (`pytest -n N --dist loadfile`): pytest-xdist's file by
file scheduling, told one thing it cannot see, that the demo's run is the suite's critical path.

The files are taken in the order `conftest._order_files` gives, with two changes to xdist's own
`LoadFileScheduling`:

- a worker gets its next file when it is down to the test it holds back (xdist runs a test only
  once it knows the next one), not one test earlier: the choice is made as late as it can be; the
  files a crashed worker had finished, which xdist puts back in the queue, are dropped;
- while the demo is running, the files that need it (listed by the workers as they collect, in
  `AFTER_THE_DEMO`) are passed over for files that do not, so that no worker sits waiting for the
  demo while there is other work; once it is done, they come first, so that they start as it ends
  and the files left over fill the gaps at the end. When only files that need the demo are left
  before it is done, they are handed out and wait, as before.

The demo is done when its record (`conftest.demo_run`) is in the session's folder; until then (also
when the demo is not selected, or failed and wrote none) the files that need it go after the others."""

from __future__ import annotations

import json
from pathlib import Path

from xdist.scheduler import LoadFileScheduling

from portal_index.core.atomic import replace_atomically

AFTER_THE_DEMO = "files-after-the-demo.json"
DEMO_RECORD = "demo-run.json"


def session_folder(config) -> Path:
    """The folder every worker's own temporary folder is in (xdist gives each worker
    `<this>/popen-gwN` as its basetemp)."""
    base = config._tmp_path_factory.getbasetemp()
    return base.parent if hasattr(config, "workerinput") else base


def write_after_the_demo(config, files: list[str]) -> None:
    """In a worker, once its tests are ordered: the files the scheduler holds back while the demo
    runs (each worker writes the same list)."""
    replace_atomically(session_folder(config) / AFTER_THE_DEMO, lambda staged: staged.write_text(json.dumps(files)))


class DemoFirstScheduling(LoadFileScheduling):
    def __init__(self, config, log=None) -> None:
        super().__init__(config, log)
        self.folder = session_folder(config)
        self.after_the_demo: set[str] | None = None

    def _next(self) -> str:
        """The first file in the queue that does not need the demo while it runs; once it is done, the
        first that does (they were held back), then the others."""
        if self.after_the_demo is None:  # written by the workers before their collection reached us
            listed = self.folder / AFTER_THE_DEMO
            self.after_the_demo = set(json.loads(listed.read_text())) if listed.exists() else set()
        done = (self.folder / DEMO_RECORD).exists()
        first = next(iter(self.workqueue))
        return next((scope for scope in self.workqueue if (scope in self.after_the_demo) == done), first)

    def _reschedule(self, node) -> None:
        if node.shutting_down:
            return
        self._drop_finished()
        if not self.workqueue:
            node.shutdown()
            return
        while self.workqueue and self._pending_of(self.assigned_work[node]) <= 1:  # xdist's own waits until 2
            self._assign_work_unit(node)  # more than once when the file given has a single test left

    def _drop_finished(self) -> None:
        """A worker that crashed gives back every file it had, those it finished too (xdist 3.8):
        handing one out would send it nothing, and leave it waiting."""
        for scope in [scope for scope, tests in self.workqueue.items() if all(tests.values())]:
            del self.workqueue[scope]

    def _assign_work_unit(self, node) -> None:
        self._drop_finished()
        if not self.workqueue:
            return
        self.workqueue.move_to_end(self._next(), last=False)  # xdist's own takes the queue's first
        super()._assign_work_unit(node)
