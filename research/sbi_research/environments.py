"""Environments to adapt to (docs/learning.md): tables the shipped model never trained on.

``pybullet_table(out)`` writes ``out/objects`` (pybullet_data's table-top models - a duck, a mug,
a teddy, lego, jenga, a cube, a sphere - and procedural objects from its random_urdfs, none of
which the default arena's library holds) and ``out/surfaces`` (MiniWorld's photographed
textures, which the arena never trains on), for ``python -m seg_by_interaction environment``.
Each URDF is rewritten with absolute mesh paths, so the folder holds URDFs only. Several of
these models are 8-10 cm across, wider than the gripper opens: take them at ``OBJECT_SCALE``
(``python -m seg_by_interaction environment OUT --object-scale 0.75``).
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

MODELS = ("duck_vhacd.urdf", "objects/mug.urdf", "teddy_vhacd.urdf", "lego/lego.urdf",
          "jenga/jenga.urdf", "cube_small.urdf", "sphere_small.urdf")
OBJECT_SCALE = 0.75    # metres per file unit that fits every model in the gripper (6-8 cm)
SURFACES = ("wood_2", "marble_2", "concrete_3", "cardboard_3", "floor_tiles_white", "stucco_1")


def pybullet_table(out: str | Path, random_models: int = 8) -> Path:
    import pybullet_data
    from seg_by_interaction.assets.sources import package_dir
    data = Path(pybullet_data.getDataPath())
    out = Path(out)
    objects, surfaces = out / "objects", out / "surfaces"
    objects.mkdir(parents=True, exist_ok=True)
    surfaces.mkdir(parents=True, exist_ok=True)
    models = list(MODELS) + [f"random_urdfs/{k:03d}/{k:03d}.urdf" for k in range(random_models)]
    for rel in models:
        src = data / rel
        text = src.read_text()
        text = re.sub(r'filename="([^"]+)"',
                      lambda m: f'filename="{(src.parent / m.group(1)).resolve()}"', text)
        (objects / (rel.replace("/", "_"))).write_text(text)
    textures = package_dir("miniworld") / "textures"
    for name in SURFACES:
        found = sorted(textures.glob(f"{name}.*"))
        if not found:
            raise FileNotFoundError(f"MiniWorld has no texture {name}")
        shutil.copy2(found[0], surfaces / found[0].name)
    return out
