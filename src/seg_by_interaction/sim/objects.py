"""The object library: real textured meshes (the default), procedural shapes and
scaled pybullet_data models (options), and user files.

Real objects come from the asset library (``seg_by_interaction.assets``: Sweet Home 3D's and
robosuite's textured models, gripper-sized, decimated, convex-decomposed); every
object is an ``ObjectSpec`` decided once from the library seed, so object k is the
same object in every run and the train/val/test split is fixed (models of the same
kind, two wine bottles say, share a group and a split). ``spawn`` builds one in a
PyBullet client. Every object fits between the open jaws.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import pybullet as p
import pybullet_data

from seg_by_interaction.assets.pybullet_shapes import MeshShapeCache
from seg_by_interaction.sim.splits import SPLITS, split_groups

PROCEDURAL_FAMILIES = ("box", "cube", "cylinder", "capsule", "L", "T", "prism", "wedge")
OBJECT_SUFFIXES = (".urdf", ".obj", ".stl")
# pybullet_data models that are small enough once scaled (path, nominal scale)
PYBULLET_MODELS = (("duck_vhacd.urdf", 0.6), ("lego/lego.urdf", 1.4), ("jenga/jenga.urdf", 0.7),
                   ("cube_small.urdf", 0.9), ("objects/mug.urdf", 0.7), ("teddy_vhacd.urdf", 0.8))


@dataclass
class ObjectSpec:
    name: str
    family: str
    split: str = ""
    params: dict = field(default_factory=dict)   # geometry, metres
    rgba: tuple = (0.5, 0.5, 0.5, 1.0)
    texture: Optional[str] = None                # pattern kind for a generated texture
    texture_seed: int = 0
    mass: float = 0.1
    path: Optional[str] = None                   # URDF/mesh file for file-based objects
    scale: float = 1.0
    group: str = ""                              # same kind of object: same split
    mesh: Optional[dict] = None                  # asset-library entry (textured parts, collision, mass)
    source: Optional[dict] = None                # provenance of a real model (package, licence, creator)

    @property
    def real(self) -> bool:
        """A real textured model (not a procedural shape)."""
        return self.mesh is not None and any(q["texture"] for q in self.mesh["parts"])


def _hsv_rgba(rng) -> tuple:
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(80, 255), rng.uniform(70, 255)]]], np.uint8)
    r, g, b = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0] / 255.0
    return (float(r), float(g), float(b), 1.0)


def object_texture(spec: ObjectSpec, size: int) -> np.ndarray:
    """RGB uint8 texture for a procedural object (stripes, dots, checks, speckle)."""
    rng = np.random.default_rng(spec.texture_seed)
    base = np.array(spec.rgba[:3], np.float32) * 255
    other = np.array(_hsv_rgba(rng)[:3], np.float32) * 255
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    kind = spec.texture
    if kind == "stripes":
        t = (np.sin((x + y * rng.uniform(-1, 1)) / rng.uniform(2, 6)) > 0).astype(np.float32)
    elif kind == "dots":
        period = rng.uniform(8, 16)
        t = ((np.mod(x, period) - period / 2) ** 2 + (np.mod(y, period) - period / 2) ** 2
             < (period * 0.3) ** 2).astype(np.float32)
    elif kind == "checks":
        n = rng.uniform(4, 12)
        t = ((np.floor(x / n) + np.floor(y / n)) % 2).astype(np.float32)
    else:  # speckle
        t = (rng.random((size, size)) < 0.15).astype(np.float32)
    img = (1 - t)[..., None] * base + t[..., None] * other
    return np.clip(img, 0, 255).astype(np.uint8)


class ObjectLibrary:
    """All objects with their split; ``split(name)`` lists one split. The textured models
    come from the built asset library's ``manifest`` (required when arena.objects.meshes)."""

    def __init__(self, cfg: dict, manifest: Optional[dict] = None):
        a = cfg.arena
        o = a.objects
        seed = int(a.library_seed)
        self.max_short_side = float(o.max_short_side)
        self.mesh_root: Optional[Path] = None
        rng = np.random.default_rng((seed, 2))
        lo, hi = o.footprint
        hlo, hhi = o.height
        items: list[ObjectSpec] = []
        if o.meshes:
            if manifest is None:
                raise ValueError("arena.objects.meshes needs the built asset library's manifest "
                                 "(seg_by_interaction.assets.ensure_library)")
            self.mesh_root = Path(manifest["root"])
            for entry in manifest["objects"]:
                items.append(ObjectSpec(
                    name=entry["name"], family="mesh", group=entry["group"], mesh=entry, mass=float(entry["mass"]),
                    rgba=None, source={k: entry[k] for k in ("title", "package", "version", "licence", "creator",
                                                             "source")}))
        for fam, count in zip(PROCEDURAL_FAMILIES, o.procedural_per_family):
            for k in range(int(count)):
                params = self._shape_params(fam, rng, lo, hi, hlo, hhi)
                items.append(ObjectSpec(
                    name=f"{fam}_{k:02d}", family=fam, params=params, rgba=_hsv_rgba(rng),
                    texture=[None, "stripes", "dots", "checks", "speckle"][int(rng.integers(0, 5))],
                    texture_seed=int(rng.integers(0, 2 ** 31)),
                    mass=float(rng.uniform(*o.mass))))
        data = Path(pybullet_data.getDataPath())
        n_files = int(o.pybullet_data)
        models = [m for m in PYBULLET_MODELS if (data / m[0]).is_file()]
        n_random = max(0, n_files - len(models))
        picks = rng.choice(1000, size=n_random, replace=False)
        for path, scale in models[:n_files]:
            items.append(ObjectSpec(name=f"pb_{Path(path).stem}", family="pybullet_data",
                                    path=str(data / path), scale=scale, rgba=None))
        slo, shi = o.random_urdf_scale
        for i in sorted(int(v) for v in picks):
            items.append(ObjectSpec(name=f"random_urdf_{i:03d}", family="pybullet_data",
                                    path=str(data / f"random_urdfs/{i:03d}/{i:03d}.urdf"),
                                    scale=float(rng.uniform(slo, shi)), rgba=None))
        for spec in items:
            spec.group = spec.group or spec.name
        counts = list(a.splits.objects)
        chosen = []
        for spec, split in zip(items, split_groups([q.group for q in items], counts, seed + 3)):
            if split is not None:
                spec.split = split
                chosen.append(spec)
        items = chosen
        user_split = a.user_object_split
        if user_split not in SPLITS:
            raise ValueError(f"arena.user_object_split must be one of {SPLITS}, got {user_split!r}")
        for path in _expand(a.user_objects):
            validate_object_file(path)
            spec = ObjectSpec(name=f"user:{path.name}", family="user", split=user_split, group=f"user:{path}",
                              path=str(path), scale=float(a.user_object_scale),
                              mass=float(np.mean(o.mass)), rgba=None)
            if path.suffix.lower() == ".obj":
                from seg_by_interaction.assets.user import user_mesh_entry
                spec.mesh = user_mesh_entry(path, cfg)
                spec.mass = float(spec.mesh["mass"])
            items.append(spec)
        self.items = items

    @staticmethod
    def _shape_params(fam, rng, lo, hi, hlo, hhi) -> dict:
        short = lambda: float(rng.uniform(lo, min(hi, 0.06)))   # noqa: E731
        long_ = lambda: float(rng.uniform(lo, hi))              # noqa: E731
        h = float(rng.uniform(hlo, hhi))
        if fam == "box":
            a, b = sorted((short(), long_()))
            return {"half": [b / 2, a / 2, h / 2]}
        if fam == "cube":
            s = float(rng.uniform(0.03, 0.05))
            return {"half": [s / 2] * 3}
        if fam == "cylinder":
            return {"radius": float(rng.uniform(0.015, 0.03)), "height": h}
        if fam == "capsule":
            return {"radius": float(rng.uniform(0.012, 0.022)), "length": float(rng.uniform(0.03, 0.06))}
        if fam in ("L", "T"):
            w = float(rng.uniform(0.018, 0.026))
            return {"width": w, "arm1": float(rng.uniform(0.05, 0.075)),
                    "arm2": float(rng.uniform(0.035, 0.055)), "height": min(h, 0.04)}
        if fam == "prism":
            return {"sides": int(rng.choice([3, 5, 6, 8])), "radius": float(rng.uniform(0.018, 0.032)),
                    "height": h}
        if fam == "wedge":
            a, b = sorted((short(), long_()))
            return {"length": b, "width": a, "height": float(rng.uniform(0.025, 0.05))}
        raise ValueError(f"unknown procedural family {fam!r}")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> ObjectSpec:
        return self.items[i]

    def split(self, name: str) -> list[ObjectSpec]:
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r} (use one of {SPLITS})")
        return [s for s in self.items if s.split == name]


def _expand(paths) -> list[Path]:
    out = []
    for entry in paths or []:
        q = Path(entry).expanduser()
        if q.is_dir():
            out.extend(sorted(f for f in q.rglob("*") if f.suffix.lower() in OBJECT_SUFFIXES))
        else:
            out.append(q)
    return out


def validate_object_file(path: Path) -> None:
    if not path.is_file():
        raise ValueError(f"object file not found: {path}")
    if path.suffix.lower() not in OBJECT_SUFFIXES:
        raise ValueError(f"object {path}: unsupported file type '{path.suffix}' "
                         f"(use one of {', '.join(OBJECT_SUFFIXES)})")


# ---------------------------------------------------------------- building bodies

def _faces_mesh(faces: list[np.ndarray]):
    """Flat-shaded triangle mesh (vertices, indices, normals, uvs) from convex polygons."""
    verts, idx, normals, uvs = [], [], [], []
    for poly in faces:
        n = np.cross(poly[1] - poly[0], poly[2] - poly[0])
        n = n / (np.linalg.norm(n) + 1e-12)
        base = len(verts)
        for v in poly:
            verts.append(v.tolist())
            normals.append(n.tolist())
            uvs.append([float(v[0] * 10 % 1), float((v[1] + v[2]) * 10 % 1)])
        for k in range(1, len(poly) - 1):
            idx += [base, base + k, base + k + 1]
    return verts, idx, normals, uvs


def _prism_faces(outline: np.ndarray, h: float) -> list[np.ndarray]:
    """Faces of a vertical prism over a CCW convex outline [N, 2], centred in z."""
    bot = np.column_stack([outline, np.full(len(outline), -h / 2)])
    top = np.column_stack([outline, np.full(len(outline), h / 2)])
    faces = [top, bot[::-1]]
    for i in range(len(outline)):
        j = (i + 1) % len(outline)
        faces.append(np.array([bot[i], bot[j], top[j], top[i]]))
    return faces


def _wedge_faces(L, W, H) -> list[np.ndarray]:
    a = np.array([[-L / 2, -W / 2, -H / 2], [L / 2, -W / 2, -H / 2], [L / 2, W / 2, -H / 2],
                  [-L / 2, W / 2, -H / 2], [-L / 2, -W / 2, H / 2], [-L / 2, W / 2, H / 2]])
    return [a[[0, 3, 2, 1]], a[[0, 1, 4]], a[[3, 5, 2]], a[[1, 2, 5, 4]], a[[0, 4, 5, 3]]]


def _mesh_body(cid, faces, mass, rgba):
    verts, idx, normals, uvs = _faces_mesh(faces)
    col = p.createCollisionShape(p.GEOM_MESH, vertices=verts, physicsClientId=cid)
    vis = p.createVisualShape(p.GEOM_MESH, vertices=verts, indices=idx, normals=normals, uvs=uvs,
                              rgbaColor=rgba, physicsClientId=cid)
    return col, vis


def spawn(spec: ObjectSpec, cid: int, pos, orn, texture_id: Optional[int] = None,
          meshes: Optional[MeshShapeCache] = None, mesh_scale: float = 1.0,
          mass: Optional[float] = None) -> int:
    """Create the object in client ``cid``; returns its body id. Library meshes need
    the client's ``meshes`` cache and may be scaled (``mesh_scale`` x their files' size,
    with ``mass``). Raises ValueError with the file named when a user/pybullet_data file
    cannot be loaded."""
    if spec.mesh is not None:
        if meshes is None:
            raise ValueError(f"object {spec.name}: a mesh object needs the client's MeshShapeCache")
        return meshes.spawn(spec.mesh, pos, orn, mass=spec.mass if mass is None else mass,
                            scale=mesh_scale)
    if spec.path is not None:
        return _spawn_file(spec, cid, pos, orn)
    q = spec.params
    rgba = list(spec.rgba)
    fam = spec.family
    if fam in ("box", "cube"):
        col = p.createCollisionShape(p.GEOM_BOX, halfExtents=q["half"], physicsClientId=cid)
        vis = p.createVisualShape(p.GEOM_BOX, halfExtents=q["half"], rgbaColor=rgba, physicsClientId=cid)
    elif fam == "cylinder":
        col = p.createCollisionShape(p.GEOM_CYLINDER, radius=q["radius"], height=q["height"],
                                     physicsClientId=cid)
        vis = p.createVisualShape(p.GEOM_CYLINDER, radius=q["radius"], length=q["height"],
                                  rgbaColor=rgba, physicsClientId=cid)
    elif fam == "capsule":
        lying = p.getQuaternionFromEuler([np.pi / 2, 0, 0])
        col = p.createCollisionShape(p.GEOM_CAPSULE, radius=q["radius"], height=q["length"],
                                     collisionFrameOrientation=lying, physicsClientId=cid)
        vis = p.createVisualShape(p.GEOM_CAPSULE, radius=q["radius"], length=q["length"],
                                  visualFrameOrientation=lying, rgbaColor=rgba, physicsClientId=cid)
    elif fam in ("L", "T"):
        w, a1, a2, h = q["width"], q["arm1"], q["arm2"], q["height"]
        halves = [[a1 / 2, w / 2, h / 2], [w / 2, a2 / 2, h / 2]]
        if fam == "L":
            centres = [[0, 0, 0], [a1 / 2 - w / 2, a2 / 2 + w / 2, 0]]
        else:
            centres = [[0, 0, 0], [0, a2 / 2 + w / 2, 0]]
        mid = np.mean([np.array(c) * (hx * hy) for c, (hx, hy, _) in zip(centres, halves)], 0) \
            / np.mean([hx * hy for hx, hy, _ in halves])
        centres = [(np.array(c) - mid).tolist() for c in centres]
        col = p.createCollisionShapeArray([p.GEOM_BOX] * 2, halfExtents=halves,
                                          collisionFramePositions=centres, physicsClientId=cid)
        vis = p.createVisualShapeArray([p.GEOM_BOX] * 2, halfExtents=halves,
                                       visualFramePositions=centres, rgbaColors=[rgba, rgba],
                                       physicsClientId=cid)
    elif fam == "prism":
        ang = np.linspace(0, 2 * np.pi, q["sides"], endpoint=False)
        outline = q["radius"] * np.column_stack([np.cos(ang), np.sin(ang)])
        col, vis = _mesh_body(cid, _prism_faces(outline, q["height"]), spec.mass, rgba)
    elif fam == "wedge":
        col, vis = _mesh_body(cid, _wedge_faces(q["length"], q["width"], q["height"]), spec.mass, rgba)
    else:
        raise ValueError(f"object {spec.name}: unknown family {fam!r}")
    body = p.createMultiBody(baseMass=spec.mass, baseCollisionShapeIndex=col,
                             baseVisualShapeIndex=vis, basePosition=pos, baseOrientation=orn,
                             physicsClientId=cid)
    if texture_id is not None:
        p.changeVisualShape(body, -1, textureUniqueId=texture_id, rgbaColor=[1, 1, 1, 1],
                            physicsClientId=cid)
    return body


def _spawn_file(spec: ObjectSpec, cid: int, pos, orn) -> int:
    path = Path(spec.path)
    validate_object_file(path)
    try:
        if path.suffix.lower() == ".urdf":
            return p.loadURDF(str(path), pos, orn, globalScaling=spec.scale, physicsClientId=cid)
        scale = [spec.scale] * 3
        col = p.createCollisionShape(p.GEOM_MESH, fileName=str(path), meshScale=scale, physicsClientId=cid)
        vis = p.createVisualShape(p.GEOM_MESH, fileName=str(path), meshScale=scale,
                                  rgbaColor=[0.6, 0.6, 0.6, 1], physicsClientId=cid)
        if col < 0 or vis < 0:
            raise p.error("mesh could not be read")
        return p.createMultiBody(baseMass=spec.mass, baseCollisionShapeIndex=col,
                                 baseVisualShapeIndex=vis, basePosition=pos, baseOrientation=orn,
                                 physicsClientId=cid)
    except p.error as exc:
        raise ValueError(f"object {path}: PyBullet could not load it ({exc})") from exc
