"""Table-top surfaces: photographs from installed packages (the default), generated
pattern families (an option), and user-supplied images.

Photographs come from the asset library (``seg_by_interaction.assets``: metaworld's and robosuite's
surface photos, 8-bit RGB, near-duplicates grouped); the generated families are
drawn from the library seed at run time. Either way every run and every machine sees
the same library and the same train/val/test split, and no photograph (or copy of
one) is in two splits. ``table_image`` turns a surface into the table's texture: the
photo covers the part of the table the cameras see, once, with no repeat; beyond it
the picture is mirrored so no seam shows. Training scenes may see a photo cropped,
turned and colour-jittered (``augment``); val/test photos are always shown as they are.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import cv2
import numpy as np

from seg_by_interaction.assets.photos import square_photo
from seg_by_interaction.sim.splits import SPLITS, split_groups

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


@dataclass
class Background:
    name: str
    family: str
    split: str
    make: Callable[[], np.ndarray]      # -> RGB uint8 [S, S, 3]
    path: Optional[str] = None           # user-supplied file, if any
    group: str = ""                      # copies of one photograph share a group (never split apart)
    source: Optional[dict] = None        # provenance of a photograph (package, licence, file)

    def image(self) -> np.ndarray:
        return self.make()


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Value noise in [0, 1]: a coarse random grid upsampled smoothly."""
    coarse = rng.random((cells + 1, cells + 1)).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def _fractal(rng, size, octaves=4, base=4):
    out = np.zeros((size, size), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        out += amp * _smooth_noise(rng, size, base * 2 ** o)
        total += amp
        amp *= 0.5
    return out / total


def _palette(rng, n=2, sat=(0.2, 0.8), val=(0.3, 0.9)) -> np.ndarray:
    hsv = np.stack([rng.uniform(0, 180, n), rng.uniform(*sat, n) * 255,
                    rng.uniform(*val, n) * 255], 1).astype(np.uint8)[None]
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0].astype(np.float32)


def _mix(t: np.ndarray, c0, c1) -> np.ndarray:
    return (1 - t)[..., None] * c0 + t[..., None] * c1


def _wood(rng, s):
    y, x = np.mgrid[0:s, 0:s].astype(np.float32) / s
    warp = _fractal(rng, s, 3, 2) * rng.uniform(2, 6)
    rings = np.sin((y * rng.uniform(8, 30) + warp) * np.pi) * 0.5 + 0.5
    grain = _fractal(rng, s, 4, 16) * 0.3
    c0 = np.array([rng.uniform(90, 160), rng.uniform(50, 100), rng.uniform(20, 60)], np.float32)
    c1 = c0 * rng.uniform(0.5, 0.8)
    img = _mix(np.clip(rings * 0.8 + grain, 0, 1), c0, c1)
    if rng.random() < 0.5:
        img = np.ascontiguousarray(np.rot90(img))
    return img


def _tiles(rng, s):
    n = int(rng.integers(3, 9))
    cols = _palette(rng, 3)
    grout = _palette(rng, 1, sat=(0, 0.2), val=(0.5, 0.95))[0]
    img = np.zeros((s, s, 3), np.float32)
    step = s / n
    for i in range(n):
        for j in range(n):
            c = cols[rng.integers(0, len(cols))] * rng.uniform(0.85, 1.1)
            img[int(i * step):int((i + 1) * step), int(j * step):int((j + 1) * step)] = c
    g = max(2, int(step * rng.uniform(0.04, 0.1)))
    for k in range(n + 1):
        p = int(k * step)
        img[max(0, p - g // 2):p + g // 2 + 1] = grout
        img[:, max(0, p - g // 2):p + g // 2 + 1] = grout
    return img + (_fractal(rng, s, 3, 8)[..., None] - 0.5) * 20


def _cloth(rng, s):
    y, x = np.mgrid[0:s, 0:s].astype(np.float32)
    f = rng.uniform(0.15, 0.5)
    weave = (np.sin(x * f) * np.sin(y * f) * 0.5 + 0.5)
    c = _palette(rng, 2, sat=(0.3, 0.9), val=(0.3, 0.8))
    plaid = ((np.sin(x * f / rng.uniform(6, 14)) > 0.3) | (np.sin(y * f / rng.uniform(6, 14)) > 0.3))
    base = np.where(plaid[..., None] & (rng.random() < 0.6), c[1], c[0])
    return base * (0.8 + 0.3 * weave[..., None]) + (_fractal(rng, s, 2, 32)[..., None] - 0.5) * 25


def _noise(rng, s):
    t = _fractal(rng, s, int(rng.integers(3, 6)), int(rng.integers(2, 8)))
    c = _palette(rng, 2)
    return _mix((t - t.min()) / (np.ptp(t) + 1e-6), c[0], c[1])


def _stone(rng, s):
    n = int(rng.integers(20, 80))
    pts = rng.random((n, 2)) * s
    y, x = np.mgrid[0:s, 0:s].astype(np.float32)
    d = np.stack([(x - px) ** 2 + (y - py) ** 2 for px, py in pts], -1)
    order = np.sort(d, -1)
    label = np.argmin(d, -1)
    edge = np.sqrt(order[..., 1]) - np.sqrt(order[..., 0]) < rng.uniform(1.5, 4)
    greys = rng.uniform(80, 200, n)
    tint = _palette(rng, 1, sat=(0, 0.3), val=(0.8, 1.0))[0] / 255
    img = greys[label][..., None] * tint + (_fractal(rng, s, 4, 16)[..., None] - 0.5) * 40
    img[edge] *= 0.5
    return img


def _checker(rng, s):
    n = int(rng.integers(4, 14))
    y, x = np.mgrid[0:s, 0:s] * n // s
    c = _palette(rng, 2, val=(0.25, 0.95))
    return np.where(((x + y) % 2 == 0)[..., None], c[0], c[1]) + (_fractal(rng, s, 3, 8)[..., None] - 0.5) * 15


def _stripes(rng, s):
    y, x = np.mgrid[0:s, 0:s].astype(np.float32)
    a = rng.uniform(0, np.pi)
    u = x * np.cos(a) + y * np.sin(a)
    period = rng.uniform(12, 60)
    t = (np.sin(u / period * 2 * np.pi) > rng.uniform(-0.5, 0.5)).astype(np.float32)
    c = _palette(rng, 2)
    return _mix(t, c[0], c[1]) + (_fractal(rng, s, 2, 16)[..., None] - 0.5) * 20


def _marble(rng, s):
    y, x = np.mgrid[0:s, 0:s].astype(np.float32) / s
    turb = _fractal(rng, s, 5, 4) * rng.uniform(4, 10)
    t = np.abs(np.sin((x * rng.uniform(2, 6) + y * rng.uniform(0, 3) + turb) * np.pi)) ** 0.5
    c = _palette(rng, 2, sat=(0, 0.3), val=(0.4, 1.0))
    return _mix(t, c[1], c[0])


FAMILIES: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "wood": _wood, "tiles": _tiles, "cloth": _cloth, "noise": _noise,
    "stone": _stone, "checker": _checker, "stripes": _stripes, "marble": _marble,
}


def _finish(img: np.ndarray) -> np.ndarray:
    return np.clip(img, 0, 255).astype(np.uint8)


def load_user_image(path: str | Path, min_px: int) -> np.ndarray:
    """Read a user background; clear errors for anything unusable."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"background image not found: {p}")
    if p.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"background {p}: unsupported file type '{p.suffix}' "
                         f"(use one of {', '.join(IMAGE_SUFFIXES)})")
    img = cv2.imread(str(p), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"background {p}: not a readable image")
    if min(img.shape[:2]) < min_px:
        raise ValueError(f"background {p}: {img.shape[1]}x{img.shape[0]} px is smaller "
                         f"than the minimum {min_px} px")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _expand(paths, suffixes) -> list[Path]:
    out = []
    for entry in paths or []:
        p = Path(entry).expanduser()
        if p.is_dir():
            out.extend(sorted(q for q in p.iterdir() if q.suffix.lower() in suffixes))
        else:
            out.append(p)
    return out


MATERIALS = ("wood", "plaster", "marble", "granite", "metal", "steel", "brick", "tile", "floor", "fabric",
             "felt", "clay", "dirt", "ceramic", "navy")


def material_of(name: str) -> str:
    """A photograph's material from its file name (wood, plaster, ...), for reports."""
    low = name.lower()
    for m in MATERIALS:
        if m in low:
            return {"steel": "metal", "floor": "tile", "navy": "fabric"}.get(m, m)
    return "other"


def _photo_loader(path: Path):
    def load() -> np.ndarray:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"surface photo {path} is missing or damaged: delete its asset library folder "
                             f"({path.parent.parent}) to rebuild it")
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return load


def augment(img: np.ndarray, rng: np.random.Generator, jitter: dict) -> np.ndarray:
    """A training variant of a surface: a random square crop (zoom), a quarter turn
    and flip, and small brightness / contrast / saturation / hue changes."""
    h = img.shape[0]
    lo, hi = (float(v) for v in jitter.crop)
    side = max(8, int(round(h * rng.uniform(lo, hi))))
    y0, x0 = (int(rng.integers(0, h - side + 1)) for _ in range(2))
    out = cv2.resize(img[y0:y0 + side, x0:x0 + side], (h, h), interpolation=cv2.INTER_CUBIC)
    out = np.rot90(out, int(rng.integers(0, 4)))
    if rng.random() < 0.5:
        out = out[:, ::-1]
    hsv = cv2.cvtColor(np.ascontiguousarray(out), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-1, 1) * float(jitter.hue_deg) / 2) % 180
    hsv[..., 1] *= 1 + rng.uniform(-1, 1) * float(jitter.saturation)
    hsv = np.clip(hsv, 0, [180, 255, 255])
    rgb = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    mean = rgb.mean()
    rgb = (rgb - mean) * (1 + rng.uniform(-1, 1) * float(jitter.contrast)) + mean
    rgb *= 1 + rng.uniform(-1, 1) * float(jitter.brightness)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def table_image(img: np.ndarray, table_size: float, texture_metres: float) -> np.ndarray:
    """The whole table's texture: ``img`` covers the central ``texture_metres`` once
    (all the cameras see), mirrored outwards to ``table_size`` so no seam shows."""
    s = img.shape[0]
    total = int(round(s * float(table_size) / float(texture_metres)))
    pad = max(0, (total - s) // 2)
    if pad == 0:
        return img
    return cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)


class BackgroundLibrary:
    """All backgrounds with their split; ``split(name)`` lists one split. The photographs
    come from the built asset library's ``manifest`` (required when arena.backgrounds.photos)."""

    def __init__(self, cfg: dict, manifest: Optional[dict] = None):
        a = cfg.arena
        b = a.backgrounds
        self.size = int(a.background_size)
        seed = int(a.library_seed)
        counts = list(a.splits.backgrounds)
        pool: list[Background] = []
        if b.photos:
            if manifest is None:
                raise ValueError("arena.backgrounds.photos needs the built asset library's manifest "
                                 "(seg_by_interaction.assets.ensure_library)")
            root = Path(manifest["root"])
            train_only: list[Background] = []      # training-only sources: never val/test
            for entry in manifest["surfaces"]:
                bg = Background(
                    name=entry["name"], family=material_of(entry["name"]), split="",
                    make=_photo_loader(root / entry["file"]), group=entry["group"],
                    source={k: entry[k] for k in ("package", "version", "licence", "source")})
                (train_only if entry.get("only_split") == "train" else pool).append(bg)
            # a training-only photo grouped with a split one (the same picture) is not used
            shared = {bg.group for bg in pool}
            extra_train = [bg for bg in train_only if bg.group not in shared]
        families = list(FAMILIES)
        for i in range(int(b.procedural)):
            fam = families[i % len(families)]
            item_seed = (seed, 1, i)
            name = f"{fam}_{i // len(families):02d}"
            pool.append(Background(
                name=name, family=fam, split="", group=name,
                make=lambda f=FAMILIES[fam], s=item_seed: _finish(f(np.random.default_rng(s), self.size))))
        splits = split_groups([bg.group for bg in pool], counts, seed + 1)
        items = []
        for bg, split in zip(pool, splits):
            if split is not None:
                bg.split = split
                items.append(bg)
        for bg in (extra_train if b.photos else []):
            bg.split = "train"
            items.append(bg)
        user_split = a.user_background_split
        if user_split not in SPLITS:
            raise ValueError(f"arena.user_background_split must be one of {SPLITS}, got {user_split!r}")
        min_px = int(a.min_background_px)
        photo_px = int(a.assets.surfaces.texture_px)
        for p in _expand(a.user_backgrounds, IMAGE_SUFFIXES):
            load_user_image(p, min_px)          # validate now: fail early with a clear message
            items.append(Background(name=f"user:{p.name}", family="user", split=user_split, group=f"user:{p}",
                                    make=lambda p=p: square_photo(load_user_image(p, min_px), photo_px),
                                    path=str(p)))
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Background:
        return self.items[i]

    def split(self, name: str) -> list[Background]:
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r} (use one of {SPLITS})")
        return [b for b in self.items if b.split == name]
