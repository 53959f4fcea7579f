"""record_interactions: every Interaction record into a bag, compacted (ros.record).

What offline labelling needs and nothing twice: the images PNG-compressed (lossless by
default) and an I_t that repeats the previous record's I_t+1 left out, ~2.5 MB per
interaction against ~6 MB for `rosbag record /interactions`. A run never overwrites a
bag (``free_bag_path``): a restart or a respawn writes the next ``NAME-<k>.bag``.

A full disk does not take the run down: below ``ros.record.min_free_mb`` (or when a write
fails) the current file is closed with its index, records are counted as not recorded
with one message, and a new file starts once space is back. The labelled store, not the
bag, is the run's primary copy.
"""
from __future__ import annotations

import errno
import threading
from pathlib import Path
from typing import Any, Callable, Optional

import rosbag
import rospy

from seg_by_interaction.data.disk import free_mb
from seg_by_interaction.msg import Interaction
from seg_by_interaction.ros.bag_records import RECORDED_TOPIC, free_bag_path
from seg_by_interaction.ros.interaction_codec import Packer


class InteractionRecorder:
    def __init__(self, path: str | Path, packer: Packer, min_free_mb: float,
                 log: Any = None, disk_free: Callable[[Path], float] = free_mb):
        """``log``: warning/error/info(fmt, *args) (a node passes rospy's)."""
        self.requested = Path(path).expanduser()
        self.requested.parent.mkdir(parents=True, exist_ok=True)
        self.packer = packer
        self.min_free_mb = float(min_free_mb)
        self.disk_free = disk_free
        self.log = log
        self.files: list[Path] = []         # every file this recorder wrote, in order
        self.recorded = 0
        self.skipped = 0                    # records not in any bag (disk full)
        self._bag: Optional[rosbag.Bag] = None
        self._paused = False
        self._closed = False
        self._lock = threading.Lock()

    @property
    def path(self) -> Optional[Path]:
        """The file being written now."""
        return self.files[-1] if self._bag is not None else None

    def _open(self) -> None:
        path = free_bag_path(self.requested)
        self._bag = rosbag.Bag(str(path), "w")
        self.files.append(path)
        self.packer.reset()                  # each file stands alone
        self.log.info("recording interactions to %s", path)

    def _close_file(self) -> None:
        if self._bag is not None:
            try:
                self._bag.close()
            except OSError as exc:
                self.log.error("closing %s failed (%s): `rosbag reindex` may recover it",
                               self.files[-1], exc)
            self._bag = None

    def _pause(self, why: str) -> None:
        self.skipped += 1
        if not self._paused:
            self._paused = True
            self.log.error("not recording: %s; the bag %s ends here, recording resumes in a new "
                           "file when space is back (the labelled store is unaffected)",
                           why, self.files[-1] if self.files else "(none yet)")
            self._close_file()

    def write(self, msg: Interaction) -> bool:
        """Record one Interaction; False if it could not be (disk full, recorder closed)."""
        with self._lock:
            if self._closed:
                return False
            free = self.disk_free(self.requested.parent)
            if free < self.min_free_mb:
                self._pause(f"{free:.0f} MB free on {self.requested.parent}, "
                            f"below ros.record.min_free_mb ({self.min_free_mb:.0f})")
                return False
            try:
                if self._bag is None:
                    self._open()
                    if self._paused:
                        self.log.info("space is back: recording again (%d records were not "
                                      "recorded)", self.skipped)
                        self._paused = False
                stamp = msg.header.stamp if msg.header.stamp.to_sec() > 0 else rospy.Time.now()
                self._bag.write(RECORDED_TOPIC, self.packer.pack(msg), t=stamp)
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                    raise
                self._pause(f"{exc.strerror} writing {self.files[-1] if self.files else self.requested}")
                return False
            self.recorded += 1
            return True

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._close_file()


def main():
    from types import SimpleNamespace

    from seg_by_interaction.ros.interaction_codec import packer_from_config
    from seg_by_interaction.ros.params import node_config

    rospy.init_node("record_interactions")
    cfg = node_config()
    recorder = InteractionRecorder(rospy.get_param("~bag"), packer_from_config(cfg, dedupe=True),
                                   cfg.ros.record.min_free_mb,
                                   log=SimpleNamespace(info=rospy.loginfo, error=rospy.logerr))
    rospy.on_shutdown(recorder.close)
    rospy.Subscriber("interactions", Interaction, recorder.write, queue_size=100,
                     buff_size=2 ** 28)
    rospy.spin()
    rospy.loginfo("recorded %d interactions in %s (%d not recorded)", recorder.recorded,
                  ", ".join(map(str, recorder.files)) or "no file", recorder.skipped)
