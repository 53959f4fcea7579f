"""labeler: Interaction records -> difference-image labels -> the dataset store, with
LabeledExample messages, receipts for the coordinators and an overlay.

Live: labels each record on `interactions` (and compact records on `interactions/recorded`,
from `rosbag play`); each subscriber callback runs in its own rospy thread, one message at a
time, so the large queue keeps every record while a slow one is labelled. Offline (~bag set:
bags, folders of bags or glob patterns, separated by spaces or commas): reads every bag's
records itself, labels them in order, exits 0 when done or 1 with the reason when a bag is
damaged (saying how many records of it were labelled before the damage).
"""
from __future__ import annotations

import logging
import sqlite3
from typing import Any, Callable

from seg_by_interaction.labeling.labeler import InteractionLabeler
from seg_by_interaction.ros.bag_records import BagError, count_records, open_bag, read_interactions
from seg_by_interaction.ros.interaction_codec import Unpacker
from seg_by_interaction.msg import (Interaction, InteractionLabelled, LabeledExample,
                                    RecordedInteraction)
from seg_by_interaction.ros.conversions import (ConversionError, mask_to_msg, msg_to_frames,
                                                rgb_to_msg)
from seg_by_interaction.visualization import overlay_masks


class _Nobody:
    """A publisher nobody listens to (the node class without a master)."""
    def publish(self, msg) -> None:
        pass

    def get_num_connections(self) -> int:
        return 0


class LabelerNode:
    """Labels records, answers every one with a receipt. ``examples_pub``, ``receipts_pub``
    and ``viz_pub``: anything with publish and get_num_connections; ``log`` has
    info/warning/error/fatal(fmt, *args)."""

    def __init__(self, labeler: InteractionLabeler, examples_pub: Any = None,
                 receipts_pub: Any = None, viz_pub: Any = None, log: Any = None):
        self.labeler = labeler
        self.examples_pub = examples_pub or _Nobody()
        self.receipts_pub = receipts_pub or _Nobody()
        self.viz_pub = viz_pub or _Nobody()
        self.log = log or logging.getLogger(__name__)
        self.labelled = 0
        self.refused = 0                  # bad records
        self.failures = 0                 # the store failed on a good record
        self._failing = False             # in a run of store failures (logged once)
        self._unpacker = Unpacker()

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
            self.log.info("the store takes records again (%d store failures before)", self.failures)
            self._failing = False
        self.labelled += 1
        positives = self._publish(msg, stored)
        self.receipts_pub.publish(InteractionLabelled(
            header=msg.header, robot_id=msg.robot_id, interaction_id=msg.interaction_id,
            views=len(stored), positives=positives))
        self.log.info("interaction %s/%d: %d views, %d positive", msg.robot_id,
                      msg.interaction_id, len(stored), positives)
        return True

    def _fail(self, msg: Interaction, reason: str, retry: bool = False) -> None:
        """A failed receipt; ``retry``: the store's fault, the sender keeps the record. A run of
        store failures (a full disk) is logged once, not once per resent record."""
        if not retry or not self._failing:
            self.log.error("interaction %s/%d not labelled (%d refused, %d store failures so far): "
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


def label_bags(server: LabelerNode, paths, topic: str = "",
               stop: Callable[[], bool] = lambda: False) -> int:
    """Offline labelling: every record of every bag in ``paths`` (in order) through
    ``server``; the exit status (1: a damaged bag, store failures, or every record refused).
    A damaged bag is reported with how far it was read; the bags after it are still labelled."""
    log = server.log
    damaged = []
    total = 0
    for path in paths:
        try:
            bag = open_bag(path)
        except BagError as exc:
            log.error("%s", exc)
            damaged.append(str(path))
            continue
        before = server.labelled
        try:
            n = count_records(bag, topic or None)
            total += n
            log.info("labelling %d records from %s", n, path)
            for msg in read_interactions(bag, topic or None):
                if stop():
                    log.warning("shut down after %d records", server.labelled)
                    return 1
                server.handle(msg)
        except BagError as exc:
            log.error("%s; %d of %d records were labelled before the damage (%s)",
                           exc, server.labelled - before, n, path)
            damaged.append(str(path))
        finally:
            bag.close()
    bad = server.refused + server.failures
    log.info("labelled %d of %d records (%d refused, %d store failures) from %d bag(s)%s",
                  server.labelled, total, server.refused, server.failures, len(paths),
                  f"; damaged: {', '.join(damaged)}" if damaged else "")
    return 1 if damaged or server.failures or (total and bad == total) else 0


def main():
    import sys
    from pathlib import Path
    from types import SimpleNamespace

    import rospy
    from sensor_msgs.msg import Image

    from seg_by_interaction.data.store import DatasetStore
    from seg_by_interaction.ros.bag_records import bag_paths
    from seg_by_interaction.ros.params import node_config

    rospy.init_node("labeler")
    spec = rospy.get_param("~bag", "")
    paths = []
    if spec:                 # check the bags before creating anything: a bad name leaves no store
        try:
            paths = bag_paths(spec)
        except BagError as exc:
            rospy.logfatal("%s", exc)
            sys.exit(2)
        readable = []
        for path in paths:
            try:
                open_bag(path).close()
                readable.append(path)
            except BagError as exc:      # reported again (and counted) when the bags are read
                rospy.logwarn("%s", exc)
        if not readable:
            rospy.logfatal("none of the %d bag(s) can be read: nothing labelled, no store made",
                           len(paths))
            sys.exit(2)
    cfg = node_config()
    store = DatasetStore(Path(rospy.get_param("~data_dir")) / "store", cfg)
    server = LabelerNode(InteractionLabeler(store, cfg, split=rospy.get_param("~split", "train")),
                         examples_pub=rospy.Publisher("examples", LabeledExample, queue_size=100),
                         receipts_pub=rospy.Publisher("labelled", InteractionLabelled, queue_size=100),
                         viz_pub=rospy.Publisher("~viz", Image, queue_size=1),
                         log=SimpleNamespace(info=rospy.loginfo, warning=rospy.logwarn,
                                             error=rospy.logerr))
    rospy.on_shutdown(store.close)
    if not paths:
        queue = int(rospy.get_param("~queue_size", 1000))
        rospy.Subscriber("interactions", Interaction, server.on_interaction, queue_size=queue,
                         buff_size=2 ** 28)
        # `rosbag play` of a record_interactions bag: the compact records
        rospy.Subscriber("interactions/recorded", RecordedInteraction, server.on_recorded,
                         queue_size=queue, buff_size=2 ** 28)
        rospy.spin()
        return
    rc = label_bags(server, paths, rospy.get_param("~topic", ""), stop=rospy.is_shutdown)
    store.close()
    rospy.signal_shutdown("bags labelled")
    sys.exit(rc)
