"""`make test`'s scheduler (tests/scheduling.py): while the demo runs, the files that need it wait in
the queue and the others are handed out; once it is done, the files that waited come first."""

import json
from collections import OrderedDict

from scheduling import AFTER_THE_DEMO, DEMO_RECORD, DemoFirstScheduling


class Node:
    def __init__(self):
        self.sent, self.shutting_down = [], False

    def send_runtest_some(self, indexes):
        self.sent.append(indexes)

    def shutdown(self):
        self.shutting_down = True


def scheduler(folder, files: dict[str, int], after_the_demo: list[str]) -> DemoFirstScheduling:
    """A scheduler whose queue holds `files` (path: number of tests), as xdist fills it, and one node."""
    (folder / AFTER_THE_DEMO).write_text(json.dumps(after_the_demo))
    s = DemoFirstScheduling.__new__(DemoFirstScheduling)  # xdist's own __init__ wants a whole session
    s.folder, s.after_the_demo = folder, None
    s.workqueue = OrderedDict((f, {f"{f}::t{i}": False for i in range(n)}) for f, n in files.items())
    s.node = Node()
    s.registered_collections = {s.node: [t for tests in s.workqueue.values() for t in tests]}
    s.assigned_work = {s.node: {}}
    return s


def handed_out(s: DemoFirstScheduling) -> str:
    s._assign_work_unit(s.node)
    return list(s.assigned_work[s.node])[-1]


def test_the_files_that_need_the_demo_wait_while_it_runs_and_come_first_once_it_is_done(tmp_path):
    s = scheduler(tmp_path, {"pipeline": 5, "releases": 9, "inbox": 4, "crawler": 3, "unit": 20}, ["releases", "inbox"])
    assert [handed_out(s), handed_out(s)] == ["pipeline", "crawler"]  # the queue's order, passing the demo's
    (tmp_path / DEMO_RECORD).write_text("{}")
    assert [handed_out(s), handed_out(s), handed_out(s)] == ["releases", "inbox", "unit"]


def test_with_only_files_that_need_the_demo_left_they_are_handed_out_and_wait(tmp_path):
    s = scheduler(tmp_path, {"releases": 9, "inbox": 4}, ["releases", "inbox"])
    assert [handed_out(s), handed_out(s)] == ["releases", "inbox"]


def test_a_worker_gets_its_next_file_only_when_down_to_the_test_it_holds_back(tmp_path):
    """xdist runs a test once it knows the next one: with one test pending the worker is idle."""
    s = scheduler(tmp_path, {"a": 3, "b": 2}, [])
    s._reschedule(s.node)  # nothing assigned yet: pending 0
    assert list(s.assigned_work[s.node]) == ["a"]
    s._reschedule(s.node)  # three pending: it is busy
    assert list(s.assigned_work[s.node]) == ["a"]
    s.assigned_work[s.node]["a"]["a::t0"] = True
    s._reschedule(s.node)  # two pending: one running (xdist's own would hand out the next file here)
    assert list(s.assigned_work[s.node]) == ["a"]
    s.assigned_work[s.node]["a"]["a::t1"] = True
    s._reschedule(s.node)  # one pending, held back
    assert list(s.assigned_work[s.node]) == ["a", "b"]
    s._reschedule(s.node)
    assert s.node.shutting_down  # nothing left to hand out


def test_the_files_a_crashed_worker_finished_are_not_handed_out_again(tmp_path):
    """xdist puts back every file of a crashed worker, finished ones too: handing one out sent the
    next worker no test, and left it waiting for ever."""
    s = scheduler(tmp_path, {"done": 2, "crashed": 2, "single": 1}, [])
    s.workqueue["done"] = {k: True for k in s.workqueue["done"]}  # as xdist's remove_node gives it back
    s.workqueue["crashed"]["crashed::t0"] = True
    s._reschedule(s.node)
    assert list(s.assigned_work[s.node]) == ["crashed", "single"] and s.node.sent == [
        [3],
        [4],
    ]  # crashed::t1 and single::t0
    assert not s.workqueue


def test_a_worker_given_a_file_of_one_test_gets_another_to_run_it(tmp_path):
    s = scheduler(tmp_path, {"one": 1, "two": 2, "three": 3}, [])
    s._reschedule(s.node)
    assert list(s.assigned_work[s.node]) == ["one", "two"]  # one pending test alone would never run


def test_without_the_workers_list_nothing_is_held_back(tmp_path):
    s = scheduler(tmp_path, {"pipeline": 5, "releases": 9}, ["releases"])
    (tmp_path / AFTER_THE_DEMO).unlink()
    assert [handed_out(s), handed_out(s)] == ["pipeline", "releases"]
