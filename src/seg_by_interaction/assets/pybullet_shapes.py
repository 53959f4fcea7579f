"""Textured multi-part meshes in a PyBullet client, each file read only once.

A library object is several visual parts (one texture each) over one compound
collision shape. Collision and visual shape ids and texture ids are made once per
client and reused by every body spawned later: scenes are reset hundreds of times
and nothing is re-read from disk after the first.
"""
from __future__ import annotations

from pathlib import Path

import pybullet as p


class MeshShapeCache:
    """Shapes and textures of library objects in one PyBullet client."""

    def __init__(self, cid: int, root: str | Path):
        self.cid = cid
        self.root = Path(root)
        self._shapes: dict[str, tuple[int, int, list[tuple[int, int]]]] = {}
        self._textures: dict[str, int] = {}

    def texture(self, path: str | Path) -> int:
        key = str(path)
        if key not in self._textures:
            tid = p.loadTexture(key, physicsClientId=self.cid)
            if tid < 0:
                raise ValueError(f"texture {key}: PyBullet could not load it")
            self._textures[key] = tid
        return self._textures[key]

    def shapes(self, entry: dict, scale: float = 1.0) -> tuple[int, int, list[tuple[int, int]]]:
        """(collision id, visual id, [(shape index, texture id)]) of a manifest entry at
        ``scale`` x its files' size. Shapes are made once per (entry, scale) and PyBullet never
        frees a visual shape: callers use a few fixed scales per object, not a continuum."""
        name = entry["name"]
        key = (name, round(float(scale), 6))
        if key not in self._shapes:
            folder = Path(entry["folder"])
            folder = folder if folder.is_absolute() else self.root / folder
            s = [float(scale)] * 3
            col = p.createCollisionShape(p.GEOM_MESH, fileName=str(folder / entry["collision"]),
                                         meshScale=s, physicsClientId=self.cid)
            parts = entry["parts"]
            vis = p.createVisualShapeArray(shapeTypes=[p.GEOM_MESH] * len(parts),
                                           fileNames=[str(folder / q["obj"]) for q in parts],
                                           meshScales=[s] * len(parts),
                                           rgbaColors=[q["rgba"] for q in parts], physicsClientId=self.cid)
            if col < 0 or vis < 0:
                raise ValueError(f"object {name}: PyBullet could not load its meshes in {folder}")
            textures = [(k, self.texture(folder / q["texture"])) for k, q in enumerate(parts) if q["texture"]]
            self._shapes[key] = (col, vis, textures)
        return self._shapes[key]

    def spawn(self, entry: dict, pos, orn, mass: float | None = None, scale: float = 1.0) -> int:
        col, vis, textures = self.shapes(entry, scale)
        body = p.createMultiBody(baseMass=float(entry["mass"] if mass is None else mass),
                                 baseCollisionShapeIndex=col, baseVisualShapeIndex=vis,
                                 basePosition=list(pos), baseOrientation=list(orn), physicsClientId=self.cid)
        for shape_index, tid in textures:
            p.changeVisualShape(body, -1, shapeIndex=shape_index, textureUniqueId=tid,
                                rgbaColor=[1, 1, 1, 1], physicsClientId=self.cid)
        return body
