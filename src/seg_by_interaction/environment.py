"""A new environment named by the user: a folder with ``objects/`` (URDF, STL, or OBJ with
its MTL textures) and ``surfaces/`` (photographs of tables), turned into a preset in which
the simulated arena shows those and nothing of its own library.

    python -m seg_by_interaction environment DIR --out run/environment.yaml [--base default]

The preset keeps everything of its base but the arena's assets: every training scene (and
the environment's held-out evaluation scenes, drawn with another seed) shows the user's
objects on the user's surfaces. Objects are taken at their file's scale
(``--object-scale``: metres per file unit, ``--up``: the file's up axis).
"""
from __future__ import annotations

from pathlib import Path

import yaml

OBJECT_SUFFIXES = (".urdf", ".stl", ".obj")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def environment_preset(folder: str | Path, base: str = "default", object_scale: float = 1.0,
                       up: str = "z") -> dict:
    """The preset (a mapping for YAML) of an environment folder; ValueError naming what is
    missing."""
    folder = Path(folder).expanduser().resolve()
    objects, surfaces = folder / "objects", folder / "surfaces"
    found_objects = sorted(p for p in objects.rglob("*") if p.suffix.lower() in OBJECT_SUFFIXES) \
        if objects.is_dir() else []
    found_surfaces = sorted(p for p in surfaces.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES) \
        if surfaces.is_dir() else []
    if not found_objects:
        raise ValueError(f"{objects} holds no object file ({', '.join(OBJECT_SUFFIXES)})")
    if not found_surfaces:
        raise ValueError(f"{surfaces} holds no surface photograph ({', '.join(IMAGE_SUFFIXES)})")
    if up not in ("y", "z"):
        raise ValueError(f"--up must be y or z, got {up!r}")
    return {"base": base, "arena": {
        "splits": {"backgrounds": [0, 0, 0], "objects": [0, 0, 0]},    # no library item at all
        "backgrounds": {"photos": False, "procedural": 0},
        "objects": {"meshes": False, "pybullet_data": 0, "procedural_per_family": [0] * 8},
        "user_objects": [str(objects)], "user_object_split": "train",
        "user_object_scale": float(object_scale), "user_object_up": up,
        "user_backgrounds": [str(surfaces)], "user_background_split": "train"}}


def write_environment_preset(folder, out, base: str = "default", object_scale: float = 1.0,
                             up: str = "z") -> Path:
    """Write the preset; its path (the command line loads it once, to check it)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("# A user's environment (python -m seg_by_interaction environment)\n"
                   + yaml.safe_dump(environment_preset(folder, base, object_scale, up), sort_keys=False))
    return out
