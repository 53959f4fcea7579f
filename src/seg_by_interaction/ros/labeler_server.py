"""labeler: Interaction records -> stored examples, LabeledExample messages, an overlay.

Each subscriber callback runs in its own rospy thread, one message at a time, so the
large queue keeps every record while a slow one is labelled.
"""
from __future__ import annotations

import sqlite3

import rospy
from sensor_msgs.msg import Image

from seg_by_interaction.labeling.labeler import InteractionLabeler
from seg_by_interaction.ros.bag_records import BagError, count_records, open_bag, read_interactions
from seg_by_interaction.ros.interaction_codec import Unpacker
from seg_by_interaction.msg import (Interaction, InteractionLabelled, LabeledExample,
                                    RecordedInteraction)
from seg_by_interaction.ros.conversions import (ConversionError, mask_to_msg, msg_to_frames,
                                                rgb_to_msg)
from seg_by_interaction.visualization import overlay_masks


class LabelerServer:
    def __init__(self, labeler: InteractionLabeler, queue_size: int, subscribe: bool = True):
        self.labeler = labeler
        self.examples_pub = rospy.Publisher("examples", LabeledExample, queue_size=100)
        self.receipts_pub = rospy.Publisher("labelled", InteractionLabelled, queue_size=100)
        self.viz_pub = rospy.Publisher("~viz", Image, queue_size=1)
        self.labelled = 0
        self.refused = 0                  # bad records
        self.failures = 0                 # the store failed on a good record
        self._failing = False             # in a run of store failures (logged once)
        self._unpacker = Unpacker()
        if subscribe:                     # offline labelling reads the bag itself
            rospy.Subscriber("interactions", Interaction, self.on_interaction,
                             queue_size=queue_size, buff_size=2 ** 28)
            # `rosbag play` of a record_interactions bag: the compact records
            rospy.Subscriber("interactions/recorded", RecordedInteraction, self.on_recorded,
                             queue_size=queue_size, buff_size=2 ** 28)

    def on_interaction(self, msg: Interaction) -> None:
        self.handle(msg)

    def on_recorded(self, rec: RecordedInteraction) -> None:
        try:
            msg = self._unpacker.unpack(rec)
        except ConversionError as exc:
            self.refused += 1
            self._fail(rec.record, f"refused: {exc}")
            return
        self.handle(msg)

    def handle(self, msg: Interaction) -> bool:
        """Label one record, publish its examples, always answer with a receipt.

        A bad record (unreadable images, impossible points) is refused; a store that fails
        (disk full, database locked or damaged) is a failure of ours: both get a failed
        receipt, so the coordinator stops waiting, and both are counted."""
        try:
            before, after = msg_to_frames(msg.before), msg_to_frames(msg.after)
            held = msg_to_frames(msg.held) if msg.held.images else None
            if not msg.robot_id:
                raise ConversionError("interaction has no robot_id")
            stored = self.labeler.label(msg.robot_id, msg.interaction_id, before, held, after,
                                        (msg.grasp.x, msg.grasp.y), (msg.place.x, msg.place.y),
                                        stamp=msg.header.stamp.to_sec(),
                                        object_in_gripper=bool(msg.object_in_gripper))
        except (ConversionError, ValueError) as exc:
            self.refused += 1
            self._fail(msg, f"refused: {exc}")
            return False
        except (RuntimeError, OSError, sqlite3.Error) as exc:
            self.failures += 1
            self._fail(msg, f"store failed ({type(exc).__name__}): {exc}", retry=True)
            return False
        if self._failing:
            rospy.loginfo("the store takes records again (%d store failures before)", self.failures)
            self._failing = False
        self.labelled += 1
        positives = self._publish(msg, stored)
        self.receipts_pub.publish(InteractionLabelled(
            header=msg.header, robot_id=msg.robot_id, interaction_id=msg.interaction_id,
            views=len(stored), positives=positives))
        rospy.loginfo("interaction %s/%d: %d views, %d positive", msg.robot_id,
                      msg.interaction_id, len(stored), positives)
        return True

    def _fail(self, msg: Interaction, reason: str, retry: bool = False) -> None:
        """A failed receipt; ``retry``: the store's fault, the sender keeps the record. A run of
        store failures (a full disk) is logged once, not once per resent record."""
        if not retry or not self._failing:
            rospy.logerr("interaction %s/%d not labelled (%d refused, %d store failures so far): "
                         "%s%s", msg.robot_id, msg.interaction_id, self.refused, self.failures,
                         reason, "; records are kept by their robots and sent again" if retry else "")
        self._failing = self._failing or retry
        self.receipts_pub.publish(InteractionLabelled(
            header=msg.header, robot_id=msg.robot_id, interaction_id=msg.interaction_id,
            failed=True, retry=retry, message=reason))

    def _publish(self, msg: Interaction, stored) -> int:
        positives = 0
        for example_id, view in stored:
            out = LabeledExample(robot_id=msg.robot_id, interaction_id=msg.interaction_id,
                                 camera=view.camera, pair=view.pair, source="interaction",
                                 positive=view.positive, pick_u=view.pick_px[0],
                                 pick_v=view.pick_px[1], example_id=example_id)
            out.header = msg.header
            out.image = rgb_to_msg(view.image, msg.header)
            if view.mask is not None:
                out.mask = mask_to_msg(view.mask, msg.header)
                positives += 1
            self.examples_pub.publish(out)
        if self.viz_pub.get_num_connections() > 0 and stored:
            _, view = max(stored, key=lambda s: s[1].positive)
            masks = [view.mask] if view.mask is not None else []
            self.viz_pub.publish(rgb_to_msg(overlay_masks(view.image, masks, ["label"],
                                                          points=[view.pick_px]), msg.header))
        return positives


def label_bags(server: LabelerServer, paths, topic: str = "") -> int:
    """Offline labelling: every record of every bag in ``paths`` (in order) through
    ``server``; the exit status (1: a damaged bag, store failures, or every record refused).
    A damaged bag is reported with how far it was read; the bags after it are still labelled."""
    damaged = []
    total = 0
    for path in paths:
        try:
            bag = open_bag(path)
        except BagError as exc:
            rospy.logfatal("%s", exc)
            damaged.append(str(path))
            continue
        before = server.labelled
        try:
            n = count_records(bag, topic or None)
            total += n
            rospy.loginfo("labelling %d records from %s", n, path)
            for msg in read_interactions(bag, topic or None):
                if rospy.is_shutdown():
                    rospy.logwarn("shut down after %d records", server.labelled)
                    return 1
                server.handle(msg)
        except BagError as exc:
            rospy.logfatal("%s; %d of %d records were labelled before the damage (%s)",
                           exc, server.labelled - before, n, path)
            damaged.append(str(path))
        finally:
            bag.close()
    bad = server.refused + server.failures
    rospy.loginfo("labelled %d of %d records (%d refused, %d store failures) from %d bag(s)%s",
                  server.labelled, total, server.refused, server.failures, len(paths),
                  f"; damaged: {', '.join(damaged)}" if damaged else "")
    return 1 if damaged or server.failures or (total and bad == total) else 0
