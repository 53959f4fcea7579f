"""Build the realistic arena's asset library once and cache it on disk.

Surfaces: every candidate photograph becomes an 8-bit RGB square PNG (PyBullet
renders 16-bit PNGs and some JPEGs white), near-duplicate photos (the same picture
in two packages, a crop of another) share a ``group`` so no split can hold both.
Objects: each model is split by material, turned Z-up, stretched to its catalog box,
kept at that real size (its longest side clipped to ``meshes.real_long_side``), decimated
to a face budget, its textures re-saved as 8-bit RGB PNGs; collision comes from a convex
decomposition (``p.vhacd``). The entry also records ``gripper_scale``: the factor that
shrinks it to the gripper (a size drawn per model from the library seed, as the arena
used before real sizes), and the mass at both sizes. Each object is rendered once to check that it shows
and that its textures are not blank. The result is a folder with ``manifest.json``
under a key that hashes the builder, its settings and the sources, so a changed
setting or package version builds a new library and nothing stale is used.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import zlib
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Optional

import cv2
import numpy as np
from scipy.sparse.csgraph import connected_components

from seg_by_interaction.assets import sources as src
from seg_by_interaction.assets import wavefront as wf
from seg_by_interaction.assets.photos import square_photo

BUILDER_VERSION = 5   # 5: meshes kept at their real (catalog) size; the gripper size is a scale
_Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def asset_root(cfg: dict) -> Path:
    """Where libraries are cached: arena.assets.cache_dir, else $SBI_ASSET_DIR, else
    ~/.cache/seg_by_interaction/assets."""
    configured = str(cfg.arena.assets.cache_dir or "")
    if configured:
        return Path(configured).expanduser()
    env = os.environ.get("SBI_ASSET_DIR")
    if env:
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "seg_by_interaction" / "assets"


def sweethome3d_jar(cfg: dict) -> Optional[Path]:
    """Where Sweet Home 3D's jar (its texture catalog) is: arena.assets.surfaces.sweethome3d_jar,
    "auto" = beside the default asset cache ($SBI_ASSET_DIR or ~/.cache/seg_by_interaction/assets,
    whatever arena.assets.cache_dir says): ../sources/sweethome3d/sweethome3d.jar, where
    scripts/setup.sh puts it; "" = not used."""
    value = str(cfg.arena.assets.surfaces.sweethome3d_jar or "")
    if not value:
        return None
    if value == "auto":        # where setup.sh puts it: beside the default asset cache
        env = os.environ.get("SBI_ASSET_DIR")
        base = Path(env).expanduser() if env else \
            Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "seg_by_interaction" / "assets"
        return base.parent / "sources" / "sweethome3d" / "sweethome3d.jar"
    return Path(value).expanduser()


def _surface_candidates(cfg: dict) -> list[src.SurfaceSource]:
    s = cfg.arena.assets.surfaces
    out = src.surface_sources(s.packages, s.exclude)
    jar = sweethome3d_jar(cfg)
    if jar is not None:
        out += src.sweethome3d_surfaces(jar, s.exclude)
    return out


def tiled_photo(img: np.ndarray, tile_m, texture_metres: float, px: int) -> np.ndarray:
    """A tileable texture of ``tile_m`` (w, h metres) repeated at its real size over the
    ``texture_metres`` square a table texture covers, at ``px`` x ``px``."""
    reps_x = max(1, int(np.ceil(texture_metres / float(tile_m[0]))))
    reps_y = max(1, int(np.ceil(texture_metres / float(tile_m[1]))))
    h, w = img.shape[:2]
    big = np.tile(img, (reps_y, reps_x, 1))
    # crop the tiling to exactly texture_metres x texture_metres, then resample
    cw = int(round(w * texture_metres / float(tile_m[0])))
    ch = int(round(h * texture_metres / float(tile_m[1])))
    big = big[:max(1, min(ch, big.shape[0])), :max(1, min(cw, big.shape[1]))]
    return cv2.resize(big, (px, px), interpolation=cv2.INTER_AREA if big.shape[0] > px else cv2.INTER_CUBIC)


def _mesh_candidates(cfg: dict) -> list[src.MeshSource]:
    m = cfg.arena.assets.meshes
    out = []
    if m.sweethome3d_dir:
        out += src.sweethome3d_sources(m.sweethome3d_dir, float(m.catalog_max_cm))
    if m.robosuite:
        out += src.robosuite_sources()
    exclude = set(m.exclude or ())
    return [c for c in out if c.name not in exclude]


def library_key(cfg: dict) -> str:
    """Hash of everything the built library depends on."""
    a = cfg.arena
    settings = {"builder": BUILDER_VERSION, "assets": a.assets.model_dump(exclude={"cache_dir"}),
                "seed": a.library_seed, "max_short_side": a.objects.max_short_side}
    surf = [(s.name, s.version, s.path.stat().st_size, s.member) for s in _surface_candidates(cfg)]
    mesh = [(m.name, m.version) for m in _mesh_candidates(cfg)]
    blob = json.dumps([settings, surf, mesh], sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def ensure_library(cfg: dict, progress: Optional[Callable[[str], None]] = None) -> dict:
    """The manifest of the library for ``cfg``, building it first if it is not cached.
    Safe when several processes ask at once (a file lock; the folder appears whole)."""
    root = asset_root(cfg)
    key = library_key(cfg)
    final = root / key
    manifest = final / "manifest.json"
    if manifest.is_file():
        return load_manifest(final)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest.is_file():
            return load_manifest(final)
        tmp = Path(tempfile.mkdtemp(prefix=f"{key}.building.", dir=root))
        try:
            build_library(cfg, tmp, progress=progress)
            if final.exists():
                shutil.rmtree(final)
            tmp.rename(final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return load_manifest(final)


def load_manifest(folder: Path) -> dict:
    path = Path(folder) / "manifest.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise src.AssetSourceError(f"asset library {folder} is damaged ({exc}); delete the folder to rebuild "
                                   f"it") from exc
    data["root"] = str(folder)
    return data


# ---------------------------------------------------------------- surfaces

def _thumb(img: np.ndarray) -> np.ndarray:
    g = cv2.cvtColor(cv2.resize(img, (24, 24), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY).astype(float)
    g -= g.mean()
    return g / (np.linalg.norm(g) + 1e-9)


def _dihedral(t: np.ndarray) -> list[np.ndarray]:
    out = []
    for k in range(4):
        r = np.rot90(t, k)
        out += [r, r[:, ::-1]]
    return out


def build_surfaces(cfg: dict, out: Path, log: Callable[[str], None]) -> tuple[list[dict], list[dict]]:
    s = cfg.arena.assets.surfaces
    px, min_px = int(s.texture_px), int(s.min_px)
    (out / "surfaces").mkdir(parents=True, exist_ok=True)
    kept, rejected, thumbs, colours = [], [], [], []
    for cand in _surface_candidates(cfg):
        img = cv2.imdecode(np.frombuffer(cand.read(), np.uint8), cv2.IMREAD_COLOR)   # 16-bit -> 8-bit
        if img is None:
            rejected.append({"name": cand.name, "reason": "not a readable image"})
            continue
        h, w = img.shape[:2]
        if cand.tile_m is not None:          # a tile of known size: repeated at its real size
            img = tiled_photo(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), cand.tile_m,
                              float(cfg.arena.table_texture_metres), px)
        elif min(h, w) < min_px:
            rejected.append({"name": cand.name, "reason": f"{w}x{h} px is below {min_px} px"})
            continue
        else:
            img = square_photo(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), px)   # the table texture is square
        std = float(img.reshape(-1, 3).std(0).mean())
        if std < float(s.min_std):
            rejected.append({"name": cand.name, "reason": f"flat colour (std {std:.1f}), not a photograph"})
            continue
        file = f"surfaces/{re.sub(r'[^A-Za-z0-9_.-]+', '_', cand.name)}.png"
        cv2.imwrite(str(out / file), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        thumbs.append(_thumb(img))
        colours.append(img.reshape(-1, 3).mean(0))
        kept.append({"name": cand.name, "package": cand.package, "version": cand.version,
                     "licence": cand.licence, "file": file, "only_split": cand.only_split,
                     "source": str(cand.path) + (f":{cand.member}" if cand.member else ""),
                     "creator": cand.creator, "tile_m": list(cand.tile_m) if cand.tile_m else None,
                     "source_size": [int(w), int(h)], "std": round(std, 2),
                     "mean_rgb": [round(float(c), 1) for c in colours[-1]]})
    # copies of one photograph (any quarter turn or flip, alike in colour) form one group,
    # named after its first member; splits are drawn by group
    limit = float(s.duplicate_correlation)
    same = np.zeros((len(kept), len(kept)), bool)
    for i in range(len(kept)):
        for j in range(i):
            corr = max(float((t * thumbs[j]).sum()) for t in _dihedral(thumbs[i]))
            close_colour = np.abs(colours[i] - colours[j]).max() < float(s.duplicate_colour)
            same[i, j] = corr > limit and close_colour
    _, label = connected_components(same, directed=False)
    first = {}
    for i, item in enumerate(kept):
        item["group"] = kept[first.setdefault(int(label[i]), i)]["name"]
    log(f"surfaces: {len(kept)} kept in {len(set(k['group'] for k in kept))} groups, {len(rejected)} rejected")
    return kept, rejected


# ---------------------------------------------------------------- objects

@contextlib.contextmanager
def _quiet_stdout():
    """p.vhacd prints its progress on the C stdout: send it to /dev/null."""
    fd = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(fd, 1)
        os.close(fd)


def _group_of(title: str) -> str:
    return re.sub(r"[^a-z]+", " ", title.lower()).strip() or title


def _hull_volume(obj_path: Path) -> float:
    from scipy.spatial import ConvexHull, QhullError

    volume, pts = 0.0, []

    def flush():
        nonlocal volume
        if len(pts) >= 4:
            try:
                volume += ConvexHull(np.asarray(pts)).volume
            except QhullError:
                pass
    for line in obj_path.read_text().splitlines():
        if line.startswith("o "):
            flush()
            pts = []
        elif line.startswith("v "):
            pts.append([float(v) for v in line.split()[1:4]])
    flush()
    return volume


def _texture_png(data: bytes, max_px: int) -> Optional[np.ndarray]:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None or img.size == 0:
        return None
    h, w = img.shape[:2]
    if max(h, w) > max_px:
        f = max_px / max(h, w)
        img = cv2.resize(img, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
    return img


def prepare_mesh(parts: list[wf.MeshPart], cfg: dict, size_xyz=None, up_axis: str = "z", rotation=None,
                 target_long: Optional[float] = None, scale: Optional[float] = None) -> list[wf.MeshPart]:
    """Turn ``parts`` into an arena object: Z-up, stretched to ``size_xyz`` (if given),
    centred on the origin, then either multiplied by ``scale`` or scaled so its
    longest horizontal side is ``target_long`` (capped by the height limit), decimated."""
    m = cfg.arena.assets.meshes
    if rotation is not None:
        wf.transform(parts, np.asarray(rotation, float))
    if up_axis == "y":
        wf.transform(parts, _Y_UP_TO_Z_UP)
    elif up_axis != "z":
        raise wf.MeshError(f"up axis must be 'y' or 'z', got {up_axis!r}")
    lo, hi = wf.bounds(parts)
    wf.fit_box(parts, size_xyz if size_xyz else hi - lo)
    lo, hi = wf.bounds(parts)
    ext = hi - lo
    if scale is None:
        long_xy = max(ext[0], ext[1])
        short_xy = min(ext[0], ext[1])
        scale = min(target_long / max(long_xy, 1e-9), float(m.max_height) / max(ext[2], 1e-9),
                    float(m.max_short_side) / max(short_xy, 1e-9))
    wf.scale_uniform(parts, scale)
    parts = wf.drop_degenerate(parts)
    wf.decimate(parts, int(m.face_budget))
    return wf.drop_degenerate(parts)


def gripper_scale(extents, target_long: float, meshes_cfg: dict) -> float:
    """The factor that makes an object of ``extents`` (x, y, z, m) gripper-sized: its longest
    horizontal side ``target_long``, unless its height or short side would exceed
    ``max_height`` / ``max_short_side`` (then smaller still)."""
    long_xy, short_xy = max(extents[0], extents[1]), min(extents[0], extents[1])
    return float(min(target_long / max(long_xy, 1e-9),
                     float(meshes_cfg.max_height) / max(extents[2], 1e-9),
                     float(meshes_cfg.max_short_side) / max(short_xy, 1e-9)))


def write_object(parts: list[wf.MeshPart], read: Callable[[str], bytes], folder: Path, cfg: dict,
                 gripper: float = 1.0) -> dict:
    """Part OBJs + PNG textures + convex decomposition in ``folder``; returns the
    manifest entry's geometry (parts, collision, extents at the files' size, the
    ``gripper_scale`` and the mass at both sizes: ``mass`` gripper-sized, ``mass_real``)."""
    import pybullet as p

    m = cfg.arena.assets.meshes
    folder.mkdir(parents=True, exist_ok=True)
    entry_parts, notes = [], []
    for k, part in enumerate(parts):
        tex_file = None
        if part.textured:
            try:
                img = _texture_png(read(part.material.texture), int(m.texture_max_px))
            except (OSError, KeyError) as exc:
                img, _ = None, exc
            if img is None:
                notes.append(f"texture {part.material.texture!r} unreadable: part {k} untextured")
            else:
                tex_file = f"tex_{k}.png"
                cv2.imwrite(str(folder / tex_file), img)
        if tex_file is None:
            part.uvs = None
        wf.write_part(part, folder / f"part_{k}.obj")
        rgba = [1.0, 1.0, 1.0, 1.0] if tex_file else [round(float(c), 4) for c in part.material.rgba[:3]] + [1.0]
        entry_parts.append({"obj": f"part_{k}.obj", "texture": tex_file, "rgba": rgba,
                            "material": part.material.name, "faces": int(len(part.faces))})
    merged = folder / "visual_merged.obj"
    wf.write_merged(parts, merged)
    v = m.vhacd
    cid = p.connect(p.DIRECT)
    try:
        with _quiet_stdout():
            p.vhacd(str(merged), str(folder / "collision.obj"), str(folder / "vhacd.log"),
                    resolution=int(v.resolution), concavity=float(v.concavity),
                    maxNumVerticesPerCH=int(v.max_vertices_per_hull), depth=int(v.depth),
                    minVolumePerCH=float(v.min_volume_per_hull), physicsClientId=cid)
    finally:
        p.disconnect(cid)
    merged.unlink()
    (folder / "vhacd.log").unlink(missing_ok=True)
    if not (folder / "collision.obj").is_file() or (folder / "collision.obj").stat().st_size == 0:
        raise wf.MeshError("convex decomposition produced nothing")
    volume = _hull_volume(folder / "collision.obj")
    lo, hi = wf.bounds(parts)
    mlo, mhi = (float(x) for x in m.mass)
    rlo, rhi = (float(x) for x in m.mass_real)
    return {"parts": entry_parts, "collision": "collision.obj",
            "mass": round(float(np.clip(volume * gripper ** 3 * float(m.density), mlo, mhi)), 4),
            "mass_real": round(float(np.clip(volume * float(m.density), rlo, rhi)), 4),
            "gripper_scale": round(float(gripper), 6),
            "extents": [round(float(x), 4) for x in hi - lo], "faces": wf.face_count(parts), "notes": notes}


def build_objects(cfg: dict, out: Path, log: Callable[[str], None]) -> tuple[list[dict], list[dict]]:
    a = cfg.arena
    m = a.assets.meshes
    seed = int(a.library_seed)
    lo_long, hi_long = (float(x) for x in m.long_side)
    kept, rejected = [], []
    cands = _mesh_candidates(cfg)
    try:
        from tqdm import tqdm
        it = tqdm(cands, desc="objects", unit="model", leave=False, disable=None)
    except ImportError:                                  # pragma: no cover
        it = cands
    for cand in it:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", cand.name)
        try:
            read = cand.reader()
            parts = wf.read_obj(Path(cand.obj), read)
            source_faces = wf.face_count(parts)
            rng = np.random.default_rng((seed, zlib.crc32(cand.name.encode())))
            target = float(rng.uniform(lo_long, hi_long))
            parts = prepare_mesh(parts, cfg, size_xyz=cand.size_m or None, up_axis=cand.up_axis,
                                 rotation=cand.rotation, scale=1.0)
            if not parts:
                raise wf.MeshError("no visible faces")
            lo, hi = wf.bounds(parts)
            real = hi - lo
            clip = np.clip(max(real[0], real[1]), *(float(v) for v in m.real_long_side))
            wf.scale_uniform(parts, clip / max(real[0], real[1], 1e-9))
            lo, hi = wf.bounds(parts)
            real = hi - lo
            gripper = gripper_scale(real, target, m)
            ext = real * gripper                   # the gripper-sized object decides what is kept
            if ext.min() < float(m.min_thickness):
                raise wf.MeshError(f"{ext.min() * 100:.1f} cm thin once gripper-sized: cannot be grasped top-down")
            if sorted(ext[:2])[0] > float(a.objects.max_short_side):
                raise wf.MeshError("does not fit the open jaws")
            if not any(pp.textured for pp in parts):
                raise wf.MeshError("no textured part")
            if wf.face_count(parts) > int(m.max_faces):
                raise wf.MeshError(f"{wf.face_count(parts)} faces after decimation (many separately textured "
                                   f"pieces), above {m['max_faces']}: too slow to render")
            geometry = write_object(parts, read, out / "objects" / slug, cfg, gripper)
            if not any(pp["texture"] for pp in geometry["parts"]):
                raise wf.MeshError("no texture could be read")
        except (wf.MeshError, OSError, KeyError, ValueError) as exc:
            rejected.append({"name": cand.name, "title": cand.title, "reason": str(exc)})
            shutil.rmtree(out / "objects" / slug, ignore_errors=True)
            continue
        kept.append({"name": cand.name, "title": cand.title, "group": _group_of(cand.title),
                     "package": cand.package, "version": cand.version, "licence": cand.licence,
                     "creator": cand.creator, "source": (f"{cand.archive}:{cand.obj}" if cand.archive else cand.obj),
                     "folder": f"objects/{slug}", "source_faces": source_faces, **geometry})
    log(f"objects: {len(kept)} kept, {len(rejected)} rejected")
    return kept, rejected


def check_renders(out: Path, objects: list[dict], cfg: dict) -> None:
    """Render each object alone from above; record its pixel count and whether its
    textured parts show texture (not blank white or flat), and a thumbnail."""
    import pybullet as p

    from seg_by_interaction.assets.pybullet_shapes import MeshShapeCache

    chk = cfg.arena.assets.render_check
    size = int(chk.px)
    cid = p.connect(p.DIRECT)
    try:
        shapes = MeshShapeCache(cid, out)
        view = p.computeViewMatrix([0.12, -0.12, 0.22], [0, 0, 0.02], [0, 0, 1], physicsClientId=cid)
        proj = p.computeProjectionMatrixFOV(40, 1.0, 0.01, 2.0, physicsClientId=cid)
        (out / "thumbs").mkdir(exist_ok=True)
        for obj in objects:
            body = shapes.spawn(obj, [0, 0, 0], [0, 0, 0, 1], scale=obj["gripper_scale"])
            _, _, rgba, _, seg = p.getCameraImage(size, size, view, proj, renderer=p.ER_TINY_RENDERER,
                                                  physicsClientId=cid)
            rgb = np.asarray(rgba, np.uint8).reshape(size, size, 4)[:, :, :3]
            mask = np.asarray(seg).reshape(size, size) == body
            px = rgb[mask].astype(float)
            obj["render"] = {"pixels": int(mask.sum()),
                             "std": round(float(px.std(0).mean()) if len(px) else 0.0, 2),
                             "white_fraction": round(float((px.min(1) > 245).mean()) if len(px) else 1.0, 3)}
            thumb = np.where(mask[..., None], rgb, 255).astype(np.uint8)
            cv2.imwrite(str(out / "thumbs" / (Path(obj["folder"]).name + ".png")),
                        cv2.cvtColor(thumb, cv2.COLOR_RGB2BGR))
            p.removeBody(body, physicsClientId=cid)
    finally:
        p.disconnect(cid)


def build_library(cfg: dict, out: Path, progress: Optional[Callable[[str], None]] = None) -> dict:
    log = progress or (lambda msg: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    surfaces, rej_s = build_surfaces(cfg, out, log)
    objects, rej_o = build_objects(cfg, out, log)
    check_renders(out, objects, cfg)
    chk = cfg.arena.assets.render_check
    good = []
    for obj in objects:
        r = obj["render"]
        if r["pixels"] < int(chk.min_pixels) or r["std"] < float(chk.min_std) \
                or r["white_fraction"] > float(chk.max_white_fraction):
            rej_o.append({"name": obj["name"], "title": obj["title"], "reason": f"renders blank or flat ({r})"})
            shutil.rmtree(out / obj["folder"], ignore_errors=True)
        else:
            good.append(obj)
    manifest = {"key": library_key(cfg), "builder": BUILDER_VERSION, "surfaces": surfaces, "objects": good,
                "rejected": {"surfaces": rej_s, "objects": rej_o}}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, default=_jsonable))
    return manifest


def _jsonable(x):
    if isinstance(x, Path):
        return str(x)
    if isinstance(x, np.generic):
        return x.item()
    if hasattr(x, "__dataclass_fields__"):
        return asdict(x)
    raise TypeError(type(x))
