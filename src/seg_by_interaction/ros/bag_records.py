"""Interaction records read straight from recorded bags, for offline labelling, and the
bag files a run writes.

Reading the bag in the labeller (instead of `rosbag play` into its subscription) makes
offline labelling independent of timing: no record is published before the labeller
has subscribed, none is dropped by a full queue, and a damaged bag is reported with
how far it was read instead of ending playback early without a word.

Bags hold ``RecordedInteraction`` (what ``record_interactions`` writes: images compressed,
see ros/interaction_codec.py) or plain ``Interaction`` (bags of earlier versions, or
``rosbag record /interactions``); both are read. A run never overwrites a bag: an existing
name gets the next free ``NAME-<k>.bag`` (``free_bag_path``), and offline labelling takes
several bags or a folder of them (``bag_paths``).
"""
from __future__ import annotations

import glob
import re
from pathlib import Path
from typing import Iterator, Optional

import rosbag

from seg_by_interaction.msg import Interaction, RecordedInteraction
from seg_by_interaction.ros.conversions import ConversionError
from seg_by_interaction.ros.interaction_codec import Unpacker

RECORDED_TOPIC = "/interactions/recorded"   # where record_interactions writes in its bags
_TYPES = {Interaction._type: Interaction, RecordedInteraction._type: RecordedInteraction}


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


def free_bag_path(path: str | Path) -> Path:
    """``path`` if nothing is there yet (nor a recorder's ``.active`` file), else the first
    free ``<stem>-<k>.bag`` beside it: a restarted run never overwrites the last bag."""
    path = Path(path)
    if path.suffix != ".bag":
        path = path.with_name(path.name + ".bag")

    def taken(p: Path) -> bool:
        return p.exists() or p.with_name(p.name + ".active").exists()

    if not taken(path):
        return path
    k = 1
    while taken(path.with_name(f"{path.stem}-{k}.bag")):
        k += 1
    return path.with_name(f"{path.stem}-{k}.bag")


def _natural(p: Path):
    """A run's bags in the order free_bag_path made them: NAME.bag, NAME-1.bag, NAME-2.bag..."""
    m = re.match(r"^(.*?)(?:-(\d+))?\.bag$", p.name)
    return (m.group(1), int(m.group(2) or 0), p.name) if m else (p.name, 0, p.name)


def bag_paths(spec: str) -> list[Path]:
    """The bags named by ``spec``: paths, folders (every ``*.bag`` in them) or glob patterns,
    separated by spaces or commas, in the order given (a folder's bags in name order:
    ``interactions.bag``, ``interactions-1.bag``, ``interactions-2.bag``). BagError when a
    name matches nothing."""
    out: list[Path] = []
    for item in [t for t in re.split(r"[\s,]+", str(spec).strip()) if t]:
        p = Path(item).expanduser()
        if p.is_dir():
            found = sorted(p.glob("*.bag"), key=_natural)
            if not found:
                raise BagError(f"no .bag files in the folder {p}")
        elif glob.has_magic(item):
            found = sorted((Path(g) for g in glob.glob(str(p))), key=_natural)
            if not found:
                raise BagError(f"no bag matches {item}")
        elif p.is_file():
            found = [p]
        else:
            raise BagError(f"bag file not found: {p}")
        out.extend(q for q in found if q not in out)
    if not out:
        raise BagError("no bag given")
    return out


def _record_topics(bag: rosbag.Bag, topic: Optional[str]) -> list[str]:
    """``topic`` if given, else every topic of the bag that carries records."""
    if topic:
        return [topic]
    info = bag.get_type_and_topic_info().topics
    return sorted(t for t, i in info.items() if i.msg_type in _TYPES)


def count_records(bag: rosbag.Bag, topic: Optional[str] = None) -> int:
    topics = _record_topics(bag, topic)
    return int(bag.get_message_count(topic_filters=topics)) if topics else 0


def read_interactions(bag: rosbag.Bag, topic: Optional[str] = None) -> Iterator[Interaction]:
    """Yield each Interaction on ``topic`` (default: every record topic) in recorded order;
    BagError on damage.

    Messages are deserialised into this package's own classes (not rosbag's generated
    look-alikes) after checking that the recorded definition is the same; compact records
    are unpacked in file order (an I_t left out as the previous I_t+1 is put back)."""
    unpacker = Unpacker()
    topics = _record_topics(bag, topic)
    if not topics:
        return
    try:
        for _, raw, _ in bag.read_messages(topics=topics, raw=True):
            datatype, data, md5sum = raw[0], raw[1], raw[2]
            cls = _TYPES.get(datatype)
            if cls is None or md5sum != cls._md5sum:
                want = " or ".join(f"{c._type} (md5 {c._md5sum})" for c in _TYPES.values())
                raise BagError(f"{bag.filename} holds {datatype} (md5 {md5sum}), not this "
                               f"package's {want}: recorded by another version of the package?")
            msg = cls()
            msg.deserialize(data)
            if cls is RecordedInteraction:
                msg = unpacker.unpack(msg)
            yield msg
    except BagError:
        raise
    except ConversionError as exc:
        raise BagError(f"{bag.filename}: a record does not unpack: {exc}") from exc
    except Exception as exc:  # rosbag/genpy raise many types on damaged chunks
        raise BagError(f"reading {bag.filename} failed: {type(exc).__name__}: {exc}") from exc
