"""Fill any generated ROS message with deterministic, non-default sample data.

Round-trip tests use it to check that every field of every interface survives a
real topic or service; a default-constructed message would hide dropped fields.
"""
from __future__ import annotations

import re

import genpy
import roslib.message

_INT_RANGES = {
    "int8": 127, "uint8": 255, "int16": 32000, "uint16": 65000, "int32": 2 ** 30,
    "uint32": 2 ** 31, "int64": 2 ** 40, "uint64": 2 ** 41, "byte": 127, "char": 255,
}


def _value(slot_type: str, seed: int):
    array = re.match(r"^(.*)\[(\d*)\]$", slot_type)
    if array:
        base, size = array.group(1), array.group(2)
        n = int(size) if size else 2
        if base in ("uint8", "char"):
            return bytes((seed * 7 + i) % 256 for i in range(n if size else 5))
        return [_value(base, seed + i + 1) for i in range(n)]
    if slot_type == "bool":
        return seed % 2 == 1
    if slot_type in _INT_RANGES:
        return (seed * 37 + 1) % _INT_RANGES[slot_type]
    if slot_type in ("float32", "float64"):
        return float(seed) + 0.5
    if slot_type == "string":
        return f"s{seed}"
    if slot_type == "time":
        return genpy.Time(seed + 1, seed * 1000)
    if slot_type == "duration":
        return genpy.Duration(seed + 1, seed * 1000)
    if slot_type == "Header":
        slot_type = "std_msgs/Header"
    cls = roslib.message.get_message_class(slot_type)
    if cls is None:
        raise ValueError(f"unknown ROS type {slot_type}")
    return sample(cls, seed + 3)


def sample(msg_class, seed: int = 1):
    """An instance of ``msg_class`` whose every field holds a distinct value."""
    msg = msg_class()
    for i, (name, slot_type) in enumerate(zip(msg.__slots__, msg._slot_types)):
        setattr(msg, name, _value(slot_type, seed + i))
    return msg


def serialized(msg) -> bytes:
    """Wire bytes of a message, for exact comparisons."""
    from seg_by_interaction.ros.conversions import serialize
    return serialize(msg)
