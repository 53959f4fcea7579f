"""Interaction records read straight from a recorded bag, for offline labelling.

Reading the bag in the labeller (instead of `rosbag play` into its subscription) makes
offline labelling independent of timing: no record is published before the labeller
has subscribed, none is dropped by a full queue, and a damaged bag is reported with
how far it was read instead of ending playback early without a word.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import rosbag

from seg_by_interaction.msg import Interaction


class BagError(RuntimeError):
    """The bag cannot be read (not a bag, truncated, unindexed, wrong message type)."""


def open_bag(path: str | Path) -> rosbag.Bag:
    """Open a bag for reading, or raise BagError saying why and what to do."""
    path = Path(path)
    if not path.is_file():
        raise BagError(f"bag file not found: {path}")
    try:
        return rosbag.Bag(str(path), "r")
    except rosbag.ROSBagUnindexedException as exc:
        raise BagError(f"{path} has no index (recording was cut off?): "
                       f"`rosbag reindex {path}` rebuilds it ({exc})") from exc
    except (rosbag.ROSBagException, rosbag.ROSBagFormatException, OSError, ValueError) as exc:
        raise BagError(f"{path} is not a readable bag: {exc}") from exc


def count_records(bag: rosbag.Bag, topic: str) -> int:
    return int(bag.get_message_count(topic_filters=[topic]))


def read_interactions(bag: rosbag.Bag, topic: str) -> Iterator[Interaction]:
    """Yield each Interaction on ``topic`` in recorded order; BagError on damage.

    Messages are deserialised into this package's own class (not rosbag's generated
    look-alike) after checking that the recorded definition is the same."""
    try:
        for _, raw, _ in bag.read_messages(topics=[topic], raw=True):
            datatype, data, md5sum = raw[0], raw[1], raw[2]
            if md5sum != Interaction._md5sum:
                raise BagError(f"{topic} holds {datatype} (md5 {md5sum}), not this package's "
                               f"Interaction (md5 {Interaction._md5sum}): recorded by another "
                               "version of the package?")
            msg = Interaction()
            msg.deserialize(data)
            yield msg
    except BagError:
        raise
    except Exception as exc:  # rosbag/genpy raise many types on damaged chunks
        raise BagError(f"reading {bag.filename} failed: {type(exc).__name__}: {exc}") from exc
