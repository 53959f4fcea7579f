"""User-supplied OBJ (+ MTL) objects through the library's mesh pipeline.

Units and up axis come from ``arena.user_object_scale`` and ``arena.user_object_up``;
the model is split by material (its textures shown), centred, decimated and
convex-decomposed exactly like a library model. The result is cached under the
asset folder by the file's content, so a changed file is rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from seg_by_interaction.assets import wavefront as wf
from seg_by_interaction.assets.build import asset_root, prepare_mesh, write_object


def user_mesh_entry(path: Path, cfg: dict) -> dict:
    """The manifest-style entry of a user OBJ; ValueError with the file named."""
    a = cfg.arena
    path = Path(path)
    up = str(a.user_object_up)
    scale = float(a.user_object_scale)
    if up not in ("y", "z"):
        raise ValueError(f"arena.user_object_up must be 'y' or 'z', got {up!r}")
    if not scale > 0:
        raise ValueError(f"arena.user_object_scale must be > 0, got {scale}")
    digest = hashlib.sha256()
    digest.update(path.read_bytes())
    digest.update(json.dumps([up, scale, a.assets.meshes.model_dump()], sort_keys=True).encode())
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("mtllib") and len(line.split()) > 1:     # a changed MTL is a changed model
            mtl = path.parent / line.split(None, 1)[1].strip()
            if mtl.is_file():
                digest.update(mtl.read_bytes())
    folder = asset_root(cfg) / "user" / digest.hexdigest()[:16]
    entry_file = folder / "entry.json"
    if entry_file.is_file():
        return json.loads(entry_file.read_text())
    try:
        parts = wf.read_obj(path)
        parts = prepare_mesh(parts, cfg, up_axis=up, scale=scale)
        if not parts:
            raise wf.MeshError("no visible faces")
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix="building.", dir=folder.parent))
        try:
            geometry = write_object(parts, lambda name: (path.parent / name).read_bytes(), tmp, cfg)
            entry = {"name": f"user:{path.name}", "title": path.stem, "folder": str(folder), **geometry}
            (tmp / "entry.json").write_text(json.dumps(entry))
            if not folder.exists():
                tmp.rename(folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except wf.MeshError as exc:
        raise ValueError(f"object {path}: {exc}") from exc
    return json.loads(entry_file.read_text())
