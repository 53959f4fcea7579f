"""trainer: pre-train on the passive bootstrap set, then update every training.update_every
new examples; each new checkpoint is announced on ``model_updates``. Resumes after a restart.
``~train_now`` (TrainNow) trains on whatever is pending at once."""
from __future__ import annotations

import threading
from typing import Callable, Optional

from seg_by_interaction.training.online import ModelUpdateInfo, OnlineTrainer
from seg_by_interaction.training.trainer import TrainingStopped


class TrainerNode:
    """The online trainer behind the node: ``start`` pre-trains (once), ``poll`` updates when
    enough examples arrived, ``train_now`` when any did; each new model goes to ``announce``.
    One update at a time, whoever asks."""

    def __init__(self, online: OnlineTrainer, announce: Callable[[ModelUpdateInfo], None]):
        self.online, self.announce = online, announce
        self._lock = threading.Lock()

    def start(self) -> Optional[ModelUpdateInfo]:
        """Pre-train model v1 on the passive set when there is no model yet."""
        info = self.online.pretrain()
        if info is not None:
            self.announce(info)
        return info

    def _update(self, force: bool) -> Optional[ModelUpdateInfo]:
        with self._lock:
            info = self.online.maybe_update(force=force)
        if info is not None:
            self.announce(info)
        return info

    def poll(self) -> Optional[ModelUpdateInfo]:
        """An update if training.update_every new examples are pending (TrainingStopped when
        the node shuts down between two SGD steps: the update is abandoned, nothing lost)."""
        return self._update(force=False)

    def train_now(self) -> tuple[bool, int, str]:
        """(success, model version, message) of an update on whatever is pending."""
        try:
            info = self._update(force=True)
        except TrainingStopped:
            return False, self.online.version, "the trainer is shutting down"
        return True, self.online.version, "updated" if info is not None else "nothing new to train on"


def main():
    import rospy

    from seg_by_interaction.msg import ModelUpdate
    from seg_by_interaction.ros.conversions import model_update_msg
    from seg_by_interaction.ros.params import node_config
    from seg_by_interaction.srv import TrainNow, TrainNowResponse

    rospy.init_node("trainer")
    cfg = node_config()
    online = OnlineTrainer(cfg, rospy.get_param("~data_dir"), device=cfg.device,
                           mode=rospy.get_param("~mode", "") or None)
    pub = rospy.Publisher("model_updates", ModelUpdate, queue_size=10, latch=True)

    def announce(info: ModelUpdateInfo):
        pub.publish(model_update_msg(info.version, info.checkpoint, cfg.preset, info.examples_seen,
                                     info.loss, stamp=rospy.Time.now()))
        rospy.loginfo("model v%d after %d examples (mask loss %.3f, %.1f examples/s, %.0f MB of "
                      "decoded examples in memory): %s",
                      info.version, info.examples_seen, info.loss,
                      info.metrics.get("examples_per_s", float("nan")),
                      info.metrics.get("example_cache_mb", 0.0), info.checkpoint)

    node = TrainerNode(online, announce)
    if online.resumed.skipped:
        rospy.logerr("trainer: %s", online.resumed.describe())
    rospy.loginfo("trainer ready at model v%d (%d examples seen): %s", online.version,
                  online.examples_seen, online.resumed.describe())
    online.trainer.should_stop = rospy.is_shutdown   # Ctrl-C stops between two SGD steps
    online.passive_source.refresh()
    if online.version == 0 and len(online.passive_source):
        rospy.loginfo("pre-training on %d passive bootstrap examples (%d steps)",
                      len(online.passive_source), cfg.training.pretrain_steps)
    try:
        node.start()
    except TrainingStopped:
        rospy.loginfo("trainer stopped during pre-training (nothing saved)")
        return
    def train_now(_req) -> TrainNowResponse:
        success, version, message = node.train_now()
        return TrainNowResponse(success=success, version=version, message=message)

    rospy.Service("~train_now", TrainNow, train_now)
    rate = rospy.Rate(float(rospy.get_param("~poll_hz", cfg.training.poll_hz)))
    while not rospy.is_shutdown():
        try:
            node.poll()
        except TrainingStopped:
            break             # shutting down: the update is abandoned, its examples stay
        try:
            rate.sleep()
        except rospy.ROSInterruptException:
            break
