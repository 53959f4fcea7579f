"""Named arena variants as configuration overrides (benchmarks compare them in one run).

``default`` is the realistic arena of config/default.yaml (photographed surfaces,
textured meshes at mixed sizes, cameras that move between scenes); ``standard`` is that
arena as the val/test sets and the README's figures show it (the fixed rig of four cameras,
every object shrunk to the jaws); ``procedural`` is the arena before photographs: generated
pattern surfaces and primitive shapes with pybullet_data models, kept as an option.
"""
from __future__ import annotations

# the arena the standard val/test sets show (the README's figures): the fixed rig, gripper sizes
STANDARD = {"arena.objects.sizes.mode": "gripper", "arena.cameras.vary.enabled": False}

ARENAS = {
    "default": {},
    "standard": dict(STANDARD),
    "procedural": {"arena.backgrounds.photos": False, "arena.backgrounds.procedural": 40,
                   "arena.objects.meshes": False,
                   "arena.objects.procedural_per_family": [6, 5, 6, 5, 5, 5, 6, 5],
                   "arena.objects.pybullet_data": 16},
}


def arena_overrides(name: str) -> dict:
    if name not in ARENAS:
        raise ValueError(f"unknown arena {name!r} (known: {', '.join(ARENAS)})")
    return dict(ARENAS[name])
