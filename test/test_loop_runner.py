"""LoopRunner without a master: a failed step backs off and reuses the id, an unfinished
pick/place is not recorded, records are re-sent until receipted, the drain ends on the
last receipt, and the budget counts recorded interactions only."""
from __future__ import annotations

from seg_by_interaction.loop.counter import InteractionCounter
from seg_by_interaction.loop.outbox import Outbox
from seg_by_interaction.loop.runner import LoopRunner
from seg_by_interaction.robot.interface import OUTCOME_PLACED, OUTCOME_ROBOT_ERROR, PickPlaceOutcome


class Record:
    def __init__(self, iid, outcome):
        self.interaction_id, self.outcome = iid, PickPlaceOutcome(outcome)


class FakeLoop:
    """run_one() follows a script: 'ok', 'fail' (raises), 'error' (arm did not finish)."""

    def __init__(self, script):
        self.script, self.next_id = list(script), 0

    def run_one(self):
        what = self.script.pop(0)
        iid = self.next_id
        self.next_id += 1
        if what == "fail":
            raise RuntimeError("segment: node restarting")
        return Record(iid, OUTCOME_PLACED if what == "ok" else OUTCOME_ROBOT_ERROR)


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, dt):
        self.t += dt


def _runner(tmp_path, script, budget=3):
    clock, sent, slept = Clock(), [], []

    def sleep(dt):
        slept.append(dt)
        clock.sleep(dt)
    loop = FakeLoop(script)
    runner = LoopRunner(loop, InteractionCounter(tmp_path, "r0"), Outbox(10.0), lambda r: f"msg{r.interaction_id}",
                        sent.append, budget, retry_after=1.5, robot_id="r0", clock=clock, sleep=sleep)
    return runner, loop, clock, sent, slept


def test_failures_back_off_and_the_budget_counts_recorded_interactions(tmp_path):
    runner, loop, clock, sent, slept = _runner(tmp_path, ["ok", "fail", "error", "ok", "ok"])
    results = []
    while runner.wants_more():
        results.append(runner.step())
    assert [r is not None for r in results] == [True, False, False, True, True]
    assert sent == ["msg0", "msg1", "msg2"]                  # ids reused after failures
    assert slept == [1.5] and runner.failures == 1
    assert InteractionCounter(tmp_path, "r0").next_id == 3


def test_records_are_resent_until_receipted_and_drain_waits_for_them(tmp_path):
    runner, loop, clock, sent, _ = _runner(tmp_path, ["ok", "ok"], budget=2)
    runner.step()
    runner.step()
    runner.on_receipt("r0", 1)
    runner.on_receipt("other_robot", 0)                       # not ours: ignored
    clock.t += 11.0
    assert runner.resend_due() == 1 and sent[-1] == "msg0"
    assert runner.drain(timeout=5.0, poll=0.5) == 1           # no receipt: times out
    runner.on_receipt("r0", 0)
    assert runner.drain(timeout=5.0, poll=0.5) == 0


class Disk:
    """A disk that fills up: writes through ``write`` raise ENOSPC while ``full``."""

    def __init__(self):
        self.full = False          # writes fail
        self.seen_full = False     # the free-space check says so

    def ok(self):
        return "0 MB free on the test disk" if self.seen_full else None

    def encode(self, record):
        import errno
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return record.encode()


class Log:
    def __init__(self):
        self.lines = []

    def __getattr__(self, level):
        return lambda fmt, *a: self.lines.append((level, fmt % a))


def test_a_full_disk_pauses_the_loop_once_keeps_every_record_and_resumes(tmp_path):
    """Issue: with the disk full, interactions were dropped, the coordinator crash-looped on
    its counter and left a 0-byte tmp file, and the launch never ended."""
    disk, clock, sent, log = Disk(), Clock(), [], Log()
    loop = FakeLoop(["ok"] * 6)
    outbox = Outbox(10.0, directory=tmp_path / "outbox", encode=disk.encode, decode=bytes.decode)
    counter = InteractionCounter(tmp_path, "r0")
    runner = LoopRunner(loop, counter, outbox, lambda r: f"msg{r.interaction_id}", sent.append,
                        4, retry_after=1.0, robot_id="r0", clock=clock, sleep=clock.sleep,
                        log=log, disk_ok=disk.ok)
    assert runner.step() is not None                      # record 0 on disk
    # the disk fills between the check and the write of record 1: kept in memory, sent
    disk.full = True
    assert runner.step() is not None
    disk.seen_full = True
    assert sent == ["msg0", "msg1"] and outbox.only_in_memory() == 1
    for _ in range(5):                                    # paused: no interaction runs
        assert runner.step() is None
    assert loop.next_id == 2 and runner.paused
    errors = [t for k, t in log.lines if k == "error"]
    assert len(errors) == 1 and "paused" in errors[0] and "No space left" in errors[0], log.lines
    assert not list(tmp_path.rglob("*.tmp"))               # nothing half-written
    # the labeller could not store record 0 either: it asks for a retry, the record stays
    runner.on_receipt("r0", 0, failed=True, retry=True)
    assert len(outbox) == 2
    disk.full = disk.seen_full = False
    assert runner.step() is not None                      # resumes by itself
    assert [k for k, t in log.lines if "the loop resumes" in t] == ["info"]
    assert sorted(p.name for p in (tmp_path / "outbox").glob("*.rec")) == \
        ["000000000.rec", "000000001.rec", "000000002.rec"]
    assert counter.path.read_text() == "3"
    # a record refused for good (bad data) is not kept; a good receipt clears one
    runner.on_receipt("r0", 1, failed=True, retry=False)
    runner.on_receipt("r0", 0)
    assert outbox.keys() == [2]


def test_ids_held_by_unreceipted_records_are_never_reused(tmp_path):
    """A coordinator killed after writing a record but before its counter: the restarted one
    starts after the outbox's newest id."""
    outbox = Outbox(10.0, directory=tmp_path / "outbox", encode=str.encode, decode=bytes.decode)
    outbox.sent(5, "msg5", 0.0)
    (tmp_path / "r0.next_interaction").write_text("5")
    restarted = Outbox(10.0, directory=tmp_path / "outbox", encode=str.encode, decode=bytes.decode)
    assert restarted.restore(0.0) == 1
    loop = FakeLoop(["ok"])
    loop.next_id = 5
    LoopRunner(loop, InteractionCounter(tmp_path, "r0"), restarted, str, lambda m: None,
                        0, retry_after=1.0, robot_id="r0")
    assert loop.next_id == 6


def test_an_outbox_file_that_does_not_decode_is_kept_aside_not_deleted(tmp_path):
    box = tmp_path / "outbox"
    box.mkdir()
    (box / "000000003.rec").write_bytes(b"\xff\xfe not a record")
    (box / "000000004.tmp").write_bytes(b"half")

    def decode(b):
        return b.decode("ascii")
    outbox = Outbox(10.0, directory=box, encode=str.encode, decode=decode)
    assert outbox.restore(0.0) == 0
    assert (box / "unreadable" / "000000003.rec").read_bytes().startswith(b"\xff\xfe")
    assert outbox.unreadable and "UnicodeDecodeError" in outbox.unreadable[0][1]
    assert not (box / "000000004.tmp").exists()
