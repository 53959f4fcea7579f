"""checkpoint_announcer: announces checkpoints written by a trainer outside ROS (e.g.
``torchrun -m seg_by_interaction.training`` on a GPU box, shared folder) on
``model_updates``, the same message the trainer node sends, so every robot's segmenter
loads them."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from seg_by_interaction.training.online import CheckpointWatcher


class AnnouncerNode:
    """Each new verified checkpoint in a folder, reported once through ``announce(version,
    path, examples_seen)``; a torn or still-copying file is retried on the next poll."""

    def __init__(self, directory: str | Path, announce: Callable[[int, str, int], None],
                 after_version: int = 0):
        self.watcher = CheckpointWatcher(directory, after_version=after_version)
        self.announce = announce

    def poll(self) -> Optional[int]:
        """The version announced by this poll, or None."""
        found = self.watcher.poll()
        if found is None:
            return None
        version, path, extra = found
        self.announce(version, path, int(extra.get("examples_seen", 0)))
        return version


def main():
    import rospy

    from seg_by_interaction.msg import ModelUpdate
    from seg_by_interaction.ros.conversions import model_update_msg
    from seg_by_interaction.ros.params import node_config

    rospy.init_node("checkpoint_announcer")
    cfg = node_config()
    directory = rospy.get_param("~checkpoint_dir")
    pub = rospy.Publisher("model_updates", ModelUpdate, queue_size=10, latch=True)

    def announce(version: int, path: str, examples_seen: int):
        pub.publish(model_update_msg(version, path, cfg.preset, examples_seen, stamp=rospy.Time.now()))
        rospy.loginfo("model v%d announced: %s", version, path)

    node = AnnouncerNode(directory, announce, int(rospy.get_param("~after_version", 0)))
    rospy.loginfo("watching %s for new checkpoints", directory)
    rate = rospy.Rate(float(rospy.get_param("~poll_hz", cfg.training.poll_hz)))
    while not rospy.is_shutdown():
        node.poll()
        rate.sleep()
