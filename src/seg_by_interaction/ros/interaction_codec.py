"""Interaction <-> RecordedInteraction: the compact form records take on disk.

Live, an Interaction carries twelve raw camera images (~6 MB). Kept on disk - bags
(``record_interactions``) and the coordinator's outbox - the images travel as
``sensor_msgs/CompressedImage`` (``ros.record.format``: PNG, lossless, so unpacking gives
back every pixel and offline labelling equals live labelling; or JPEG, ~5x smaller, lossy).
A ``Packer`` also leaves out I_t when it is byte for byte the previous record's I_t+1
(``loop.reuse_after_shot``); the ``Unpacker`` reading the same stream in order puts it back.
"""
from __future__ import annotations

import hashlib
from typing import Optional

from sensor_msgs.msg import CompressedImage, Image

from seg_by_interaction.cameras.codec import (CodecError, decode_mask, decode_rgb, encode_mask,
                                              encode_rgb)
from seg_by_interaction.msg import FrameSet, Interaction, RecordedInteraction
from seg_by_interaction.ros.conversions import (ConversionError, mask_to_msg, msg_to_mask, msg_to_rgb,
                                                rgb_to_msg)

OUTBOX_MAGIC = b"SBI-RecordedInteraction-1\n"   # outbox files in the compact form start with this


def _digest(frames: FrameSet) -> Optional[bytes]:
    if not frames.images:
        return None
    h = hashlib.blake2b(digest_size=16)
    for img in frames.images:
        h.update(f"{img.width}x{img.height}:{img.encoding}:".encode())
        h.update(bytes(img.data))
    return h.digest()


def _bare(frames: FrameSet) -> FrameSet:
    """The frame set without its images (header, robot id, camera models, ground truth kept)."""
    return FrameSet(header=frames.header, robot_id=frames.robot_id, images=[],
                    camera_info=list(frames.camera_info), gt_instances=list(frames.gt_instances))


def _compress(frames: FrameSet, fmt: str, quality: int) -> list[CompressedImage]:
    out = []
    for img in frames.images:
        form, data = encode_rgb(msg_to_rgb(img), fmt, quality)
        out.append(CompressedImage(header=img.header, format=form, data=data))
    return out


def _expand(bare: FrameSet, images: list[CompressedImage]) -> FrameSet:
    full = _bare(bare)
    for ci in images:
        try:
            full.images.append(rgb_to_msg(decode_rgb(ci.format, ci.data), ci.header))
        except CodecError as exc:
            raise ConversionError(str(exc)) from exc
    return full


class Packer:
    """Interaction -> RecordedInteraction. ``dedupe``: leave out an I_t that repeats the
    previous packed record's I_t+1 of the same robot (a bag file; never the outbox, whose
    records are read one at a time)."""

    def __init__(self, fmt: str = "png", quality: int = 95, dedupe: bool = False):
        encode_rgb(_probe(), fmt, quality)        # an unknown format fails here, not per record
        self.fmt, self.quality, self.dedupe = fmt, int(quality), bool(dedupe)
        self._last_after: dict[str, bytes] = {}

    def reset(self) -> None:
        """Forget the previous records (a new bag file starts self-contained)."""
        self._last_after.clear()

    def pack(self, msg: Interaction) -> RecordedInteraction:
        rec = RecordedInteraction()
        record = Interaction(header=msg.header, robot_id=msg.robot_id,
                             interaction_id=msg.interaction_id, model_version=msg.model_version,
                             before=_bare(msg.before), held=_bare(msg.held), after=_bare(msg.after),
                             hypothesis=msg.hypothesis, grasp=msg.grasp, place=msg.place,
                             outcome=msg.outcome, object_in_gripper=msg.object_in_gripper)
        hyp = msg.hypothesis
        if hyp.mask.data:
            form, data = encode_mask(msg_to_mask(hyp.mask))
            rec.hypothesis_mask = CompressedImage(header=hyp.mask.header, format=form, data=data)
            record.hypothesis = type(hyp)(header=hyp.header, id=hyp.id, score=hyp.score,
                                          mask=Image(header=hyp.mask.header), roi=hyp.roi,
                                          camera=hyp.camera)
        rec.record = record
        before = _digest(msg.before)
        if self.dedupe and before is not None and self._last_after.get(msg.robot_id) == before:
            rec.before_is_previous_after = True
        else:
            rec.before = _compress(msg.before, self.fmt, self.quality)
        rec.held = _compress(msg.held, self.fmt, self.quality)
        rec.after = _compress(msg.after, self.fmt, self.quality)
        after = _digest(msg.after)
        if self.dedupe and after is not None:
            self._last_after[msg.robot_id] = after
        return rec


class Unpacker:
    """RecordedInteraction -> Interaction, for records read in the order they were packed."""

    def __init__(self):
        self._last_after: dict[str, FrameSet] = {}

    def reset(self) -> None:
        self._last_after.clear()

    def unpack(self, rec: RecordedInteraction) -> Interaction:
        r = rec.record
        msg = Interaction(header=r.header, robot_id=r.robot_id, interaction_id=r.interaction_id,
                          model_version=r.model_version, hypothesis=r.hypothesis, grasp=r.grasp,
                          place=r.place, outcome=r.outcome, object_in_gripper=r.object_in_gripper)
        if rec.before_is_previous_after:
            previous = self._last_after.get(r.robot_id)
            if previous is None:
                raise ConversionError(
                    f"record {r.robot_id}/{r.interaction_id} stores its I_t as the previous "
                    "record's I_t+1, but no earlier record of that robot was read from this file")
            msg.before = _bare(r.before)
            msg.before.images = list(previous.images)
        else:
            msg.before = _expand(r.before, rec.before)
        msg.held = _expand(r.held, rec.held)
        msg.after = _expand(r.after, rec.after)
        if rec.hypothesis_mask.data:
            try:
                mask = decode_mask(rec.hypothesis_mask.format, rec.hypothesis_mask.data)
            except CodecError as exc:
                raise ConversionError(str(exc)) from exc
            msg.hypothesis.mask = mask_to_msg(mask > 0, rec.hypothesis_mask.header)
        if msg.after.images:
            self._last_after[r.robot_id] = msg.after
        return msg


def _probe():
    import numpy as np
    return np.zeros((2, 2, 3), np.uint8)


def packer_from_config(cfg, dedupe: bool = False) -> Packer:
    rc = cfg.ros.record
    return Packer(str(rc.format), int(rc.jpeg_quality), dedupe=dedupe)


def to_disk(msg: Interaction, packer: Packer) -> bytes:
    """A record as the coordinator's outbox keeps it: compact, self-contained."""
    from seg_by_interaction.ros.conversions import serialize
    return OUTBOX_MAGIC + serialize(packer.pack(msg))


def from_disk(data: bytes) -> Interaction:
    """The record ``to_disk`` wrote (or a plain serialised Interaction of older outboxes)."""
    if data.startswith(OUTBOX_MAGIC):
        rec = RecordedInteraction()
        rec.deserialize(data[len(OUTBOX_MAGIC):])
        return Unpacker().unpack(rec)
    msg = Interaction()
    msg.deserialize(data)
    return msg
