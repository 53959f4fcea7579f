"""Wavefront OBJ + MTL as PyBullet can show them: one part per material.

PyBullet's renderer shows one texture per visual shape, so a multi-material model is
split by ``usemtl`` into parts, each with its own vertices (one per distinct
position/uv corner), triangles, diffuse colour and texture. Parts are transformed
(axes, per-axis size, position), decimated to a face budget and written back as
small OBJ files with normals, ready for ``createVisualShapeArray``.

Why not trimesh (measured 2026-12-06 on the 89 models the library uses, trimesh 5.2.0):
it reads the same parts, faces and uv corners, but splits vertices by (v, vt) index
(368k vertices against 338k welded by value), returns the parts in reverse order, rounds
Kd to 1/255 and triangulates quads in another face order; quadric decimation follows the
face order, so 77 of the 89 built meshes would change (and with them every figure).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np


class MeshError(ValueError):
    """An OBJ/MTL that cannot be used, with the file named."""


@dataclass
class Material:
    name: str
    rgba: tuple = (0.7, 0.7, 0.7, 1.0)
    texture: Optional[str] = None        # map_Kd as written in the MTL (relative to it)


@dataclass
class MeshPart:
    material: Material
    vertices: np.ndarray                 # float64 [n, 3]
    faces: np.ndarray                    # int64 [m, 3]
    uvs: Optional[np.ndarray] = None     # float64 [n, 2], None when the part has no texture coords
    meta: dict = field(default_factory=dict)

    @property
    def textured(self) -> bool:
        return self.material.texture is not None and self.uvs is not None


def _floats(tokens: list[str], n: int, where: str) -> list[float]:
    try:
        vals = [float(t) for t in tokens[:n]]
    except ValueError as exc:
        raise MeshError(f"{where}: bad number in {' '.join(tokens)!r}") from exc
    if len(vals) < n or not all(math.isfinite(v) for v in vals):
        raise MeshError(f"{where}: expected {n} finite numbers, got {' '.join(tokens)!r}")
    return vals


def parse_mtl(text: str) -> dict[str, Material]:
    """Materials of an MTL file: diffuse colour (Kd, d) and texture (map_Kd)."""
    mats: dict[str, Material] = {}
    cur: Optional[Material] = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, rest = line.partition(" ")
        rest = rest.strip()
        if key == "newmtl":
            cur = mats.setdefault(rest, Material(rest))
        elif cur is None:
            continue
        elif key == "Kd":
            try:
                r, g, b = (min(1.0, max(0.0, float(v))) for v in rest.split()[:3])
            except ValueError:
                continue
            cur.rgba = (r, g, b, cur.rgba[3])
        elif key == "d":
            try:
                cur.rgba = (*cur.rgba[:3], min(1.0, max(0.0, float(rest.split()[0]))))
            except (ValueError, IndexError):
                continue
        elif key == "map_Kd" and rest:
            # options (-s 1 1 1, -bm 0.5 ...) come first; the file name is what follows them
            tokens = rest.split()
            i = 0
            while i < len(tokens) and tokens[i].startswith("-"):
                i += 4 if tokens[i] in ("-s", "-o", "-t") else 2
            cur.texture = " ".join(tokens[i:]) or None
    return mats


def parse_obj(text: str, where: str, materials: Optional[dict[str, Material]] = None) -> list[MeshPart]:
    """Parts of an OBJ (one per material, in order of first use). Polygons are fanned
    into triangles; negative (relative) indices are resolved. Raises MeshError."""
    materials = materials or {}
    v: list[list[float]] = []
    vt: list[list[float]] = []
    corners: dict[str, list[tuple[int, int]]] = {}     # material -> corner (v, vt) triples flattened
    order: list[str] = []
    cur = ""
    for lineno, raw in enumerate(text.splitlines(), 1):
        if not raw or raw[0] not in "vfu":
            continue
        tokens = raw.split()
        if not tokens:
            continue
        key = tokens[0]
        if key == "v":
            v.append(_floats(tokens[1:], 3, f"{where}:{lineno}"))
        elif key == "vt":
            uv = _floats(tokens[1:], 1, f"{where}:{lineno}")
            if len(tokens) > 2:
                uv = _floats(tokens[1:], 2, f"{where}:{lineno}")
            else:
                uv = uv + [0.0]
            vt.append(uv)
        elif key == "usemtl":
            cur = raw.split(None, 1)[1].strip() if len(tokens) > 1 else ""
        elif key == "f":
            idx = []
            for tok in tokens[1:]:
                parts = tok.split("/")
                try:
                    vi = int(parts[0])
                    ti = int(parts[1]) if len(parts) > 1 and parts[1] else 0
                except ValueError as exc:
                    raise MeshError(f"{where}:{lineno}: bad face index {tok!r}") from exc
                vi = vi - 1 if vi > 0 else len(v) + vi
                ti = (ti - 1 if ti > 0 else len(vt) + ti) if ti else -1
                if not 0 <= vi < len(v) or ti >= len(vt) or ti < -1:
                    raise MeshError(f"{where}:{lineno}: face index {tok!r} out of range")
                idx.append((vi, ti))
            if len(idx) < 3:
                continue
            if cur not in corners:
                corners[cur] = []
                order.append(cur)
            for k in range(1, len(idx) - 1):
                corners[cur].extend((idx[0], idx[k], idx[k + 1]))
    if not order:
        raise MeshError(f"{where}: no faces")
    V = np.asarray(v, np.float64)
    T = np.asarray(vt, np.float64) if vt else np.zeros((0, 2))
    parts = []
    for name in order:
        c = np.asarray(corners[name], np.int64)               # [3m, 2]
        has_uv = bool((c[:, 1] >= 0).all()) and len(T) > 0
        # corners are welded by value, not index: exporters often repeat a position or a
        # uv per face, which would leave a triangle soup that no decimation can reduce
        pos = V[c[:, 0]]
        uv = T[c[:, 1]] if has_uv else np.zeros((len(c), 2))
        key = np.column_stack([np.round(pos, 7), np.round(uv, 6)])
        uniq, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        mat = materials.get(name, Material(name or "default"))
        parts.append(MeshPart(
            material=Material(mat.name, mat.rgba, mat.texture),
            vertices=pos[first].copy(),
            faces=inverse.reshape(-1, 3).astype(np.int64),
            uvs=uv[first].copy() if has_uv else None))
    return parts


def read_obj(path: Path, read: Optional[Callable[[str], bytes]] = None) -> list[MeshPart]:
    """Parts of ``path`` with its MTL materials; ``read(name)`` reads a file next to it
    (a zip member, say) and defaults to the file system."""
    path = Path(path)
    read = read or (lambda name: (path.parent / name).read_bytes())
    try:
        text = read(path.name).decode("latin-1")
    except (OSError, KeyError) as exc:
        raise MeshError(f"{path}: cannot be read ({exc})") from exc
    materials: dict[str, Material] = {}
    for line in text.splitlines():
        if line.startswith("mtllib"):
            name = line.split(None, 1)[1].strip() if len(line.split()) > 1 else ""
            try:
                materials.update(parse_mtl(read(name).decode("latin-1")))
            except (OSError, KeyError):
                pass                       # a missing MTL: untextured grey, as viewers do
    return parse_obj(text, str(path), materials)


# ---------------------------------------------------------------- geometry

def transform(parts: list[MeshPart], matrix: np.ndarray) -> None:
    """Apply a 3x3 linear map to every part's vertices in place."""
    for part in parts:
        part.vertices = part.vertices @ np.asarray(matrix, float).T


def bounds(parts: list[MeshPart]) -> tuple[np.ndarray, np.ndarray]:
    allv = np.concatenate([p.vertices for p in parts])
    return allv.min(0), allv.max(0)


def fit_box(parts: list[MeshPart], size_xyz) -> None:
    """Scale each axis so the model's bounding box has ``size_xyz`` (Sweet Home 3D
    stretches models to the catalog box) and centre the box on the origin (the body's
    frame, where PyBullet puts the centre of mass)."""
    lo, hi = bounds(parts)
    ext = np.maximum(hi - lo, 1e-9)
    scale = np.asarray(size_xyz, float) / ext
    centre = (lo + hi) / 2
    for part in parts:
        part.vertices = (part.vertices - centre) * scale


def scale_uniform(parts: list[MeshPart], factor: float) -> None:
    for part in parts:
        part.vertices = part.vertices * float(factor)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals (flat parts get their face normal)."""
    tri = vertices[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.where(length > 1e-20, n / np.maximum(length, 1e-20), [0.0, 0.0, 1.0])
    return n


def face_count(parts: list[MeshPart]) -> int:
    return int(sum(len(p.faces) for p in parts))


def _simplify(part: MeshPart, target: int, preserve_border: bool) -> None:
    import fast_simplification

    pts = part.vertices.astype(np.float32)
    tris = part.faces.astype(np.int32)
    _, out_tris, collapses = fast_simplification.simplify(pts, tris, target_count=target, return_collapses=True,
                                                          preserve_border=preserve_border)
    if len(out_tris) == 0:
        return
    new_pts, new_tris, mapping = fast_simplification.replay_simplification(pts, tris, collapses)
    if part.uvs is not None:                 # each survivor keeps the uv of its nearest original vertex
        d = np.sum((part.vertices - new_pts[mapping]) ** 2, axis=1)
        order = np.argsort(-d)               # nearest written last
        uvs = np.zeros((len(new_pts), 2))
        uvs[mapping[order]] = part.uvs[order]
        part.uvs = uvs
    part.vertices = np.asarray(new_pts, np.float64)
    part.faces = np.asarray(new_tris, np.int64)


def decimate(parts: list[MeshPart], budget: int) -> None:
    """Quadric decimation so all parts together have about ``budget`` faces. Texture
    seams are borders and stay (collapsing across them tears the mesh and smears the
    texture), so a model of many small textured pieces may stay above the budget.
    Texture coordinates follow the surviving vertices."""
    total = face_count(parts)
    if total <= budget:
        return
    for part in parts:
        n = len(part.faces)
        target = max(4, int(round(n * budget / total)))
        if n > target and n >= 8:
            _simplify(part, target, preserve_border=part.uvs is not None)


def drop_degenerate(parts: list[MeshPart]) -> list[MeshPart]:
    """Parts without any non-degenerate triangle are dropped."""
    out = []
    for part in parts:
        tri = part.vertices[part.faces]
        area = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        keep = area > 1e-14
        if keep.any():
            part.faces = part.faces[keep]
            out.append(part)
    return out


def write_part(part: MeshPart, path: Path) -> None:
    """One part as an OBJ with normals and (if textured) texture coordinates."""
    n = vertex_normals(part.vertices, part.faces)
    lines = [f"# {part.material.name}"]
    lines += [f"v {x:.6g} {y:.6g} {z:.6g}" for x, y, z in part.vertices]
    lines += [f"vn {x:.4f} {y:.4f} {z:.4f}" for x, y, z in n]
    if part.uvs is not None:
        lines += [f"vt {u:.5f} {w:.5f}" for u, w in part.uvs]
        lines += [f"f {a + 1}/{a + 1}/{a + 1} {b + 1}/{b + 1}/{b + 1} {c + 1}/{c + 1}/{c + 1}"
                  for a, b, c in part.faces]
    else:
        lines += [f"f {a + 1}//{a + 1} {b + 1}//{b + 1} {c + 1}//{c + 1}" for a, b, c in part.faces]
    Path(path).write_text("\n".join(lines) + "\n")


def write_merged(parts: list[MeshPart], path: Path) -> None:
    """All parts as one untextured OBJ (the input of the convex decomposition)."""
    lines, base = [], 0
    for part in parts:
        lines += [f"v {x:.6g} {y:.6g} {z:.6g}" for x, y, z in part.vertices]
    for part in parts:
        lines += [f"f {a + 1 + base} {b + 1 + base} {c + 1 + base}" for a, b, c in part.faces]
        base += len(part.vertices)
    Path(path).write_text("\n".join(lines) + "\n")


def java_properties(text: str) -> dict[str, str]:
    """A Java .properties file (Sweet Home 3D catalogs): key=value, \\uXXXX escapes."""
    out = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), value)
        out[key.strip()] = value.strip()
    return out
