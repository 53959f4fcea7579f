"""Where the realistic arena's assets come from: packages the set-up installs.

Photographed surfaces ship in the pip packages metaworld and robosuite (MIT), found
without importing them; textured table-top models in Debian's sweethome3d-furniture
(CC0 / CC-BY 3.0 per catalog, creator per model) and robosuite's five textured
objects. Nothing is downloaded at run time. This module only lists candidates with
their provenance; ``build`` turns them into the arena's cached library.
"""
from __future__ import annotations

import importlib.util
import re
import zipfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from seg_by_interaction.assets.wavefront import java_properties

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

# Licence of each Sweet Home 3D catalog (its LICENSE.TXT and debian/copyright)
SWEETHOME3D_LICENCES = {
    "BlendSwap-CC-0": "CC0 1.0 (public domain)",
    "BlendSwap-CC-BY": "CC BY 3.0",
    "KatorLegaz": "CC BY 3.0 US",
    "Reallusion": "CC BY 3.0 US",
    "Scopia": "CC BY 3.0",
}
# robosuite's textured objects: mesh, the texture its MTL names, its licence
ROBOSUITE_OBJECTS = ("can", "cereal", "bread", "lemon", "milk")


class AssetSourceError(RuntimeError):
    """A source the default library needs is not installed."""


@dataclass
class SurfaceSource:
    """A photographed surface in an installed package (a file, or a member of a zip/jar)."""
    name: str                  # unique, e.g. "metaworld:wood2"
    package: str
    version: str
    licence: str
    path: Path
    member: Optional[str] = None     # the image inside ``path`` when it is an archive
    tile_m: Optional[tuple] = None   # a tileable image of this (width, height) in metres: repeated
                                     # at its real size over the table, not stretched to it
    only_split: str = ""             # "train": a training-only source (never val/test)
    creator: str = ""

    def read(self) -> bytes:
        if self.member is None:
            return self.path.read_bytes()
        with zipfile.ZipFile(self.path) as zf:
            return zf.read(self.member)


@dataclass
class MeshSource:
    """A textured model: an OBJ (+ MTL + textures) on disk or inside a zip."""
    name: str                  # unique, e.g. "sweethome3d:Scopia:cup"
    title: str                 # human name ("Cup")
    package: str
    version: str
    licence: str
    creator: str
    obj: str                   # OBJ path (in the zip, or on disk)
    size_m: tuple              # catalog box in metres (x, y, z), z up
    up_axis: str = "z"         # "y": model is Y-up (Sweet Home 3D)
    rotation: Optional[list] = None   # 3x3 applied before the up-axis change (catalog modelRotation)
    archive: Optional[str] = None     # zip holding the files, or None for plain files
    meta: dict = field(default_factory=dict)

    def reader(self) -> Callable[[str], bytes]:
        """``read(name)`` for files next to the OBJ (relative names as MTL/OBJ write them)."""
        base = self.obj.rsplit("/", 1)[0] if "/" in self.obj else ""
        if self.archive is None:
            root = Path(self.obj).parent
            return lambda name: (root / name).read_bytes()
        zf = zipfile.ZipFile(self.archive)
        members = {n.lower(): n for n in zf.namelist()}

        def read(name: str) -> bytes:
            full = _normpath(f"{base}/{name}" if base else name)
            key = members.get(full.lower())
            if key is None:
                raise KeyError(f"{full} not in {self.archive}")
            return zf.read(key)
        return read


def _normpath(p: str) -> str:
    out: list[str] = []
    for part in p.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out:
                out.pop()
        else:
            out.append(part)
    return "/".join(out)


def package_dir(name: str) -> Optional[Path]:
    """An installed package's folder, found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


# folders of photographs inside each package
SURFACE_FOLDERS = {
    "metaworld": ("assets/textures", "assets/scene/textures"),
    "robosuite": ("models/assets/textures",),
}


def surface_sources(packages, exclude) -> list[SurfaceSource]:
    """Every photograph in the named packages' texture folders, minus ``exclude``
    (names like "robosuite:soda": object labels, drawings, height maps)."""
    exclude = set(exclude or ())
    out = []
    for pkg in packages:
        root = package_dir(pkg)
        if root is None:
            raise AssetSourceError(
                f"package {pkg!r} is not installed: its photographed surfaces make the default arena's "
                f"backgrounds (scripts/setup.sh installs it with `pip install --no-deps {pkg}`)")
        if pkg not in SURFACE_FOLDERS:
            raise AssetSourceError(f"no known surface folders in package {pkg!r} "
                                   f"(known: {', '.join(SURFACE_FOLDERS)})")
        version = _version(pkg)
        found: dict[str, Path] = {}
        for folder in SURFACE_FOLDERS[pkg]:
            scene = "scene_" if "scene" in folder else ""
            for f in sorted((root / folder).glob("*")):
                if f.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                name = f"{pkg}:{scene}{f.stem}"
                # the same picture saved twice (x.jpeg and x.png): keep the larger file
                if name not in found or f.stat().st_size > found[name].stat().st_size:
                    found[name] = f
        out += [SurfaceSource(name=n, package=pkg, version=version, licence="MIT", path=f)
                for n, f in sorted(found.items()) if n not in exclude]
    return out


# ---------------------------------------------------------------- meshes

def _dpkg_version(package: str) -> str:
    status = Path("/var/lib/dpkg/status")
    try:
        text = status.read_text(errors="replace")
    except OSError:
        return "unknown"
    m = re.search(rf"^Package: {re.escape(package)}\n(?:[^\n]+\n)*?Version: (\S+)", text, re.M)
    return m.group(1) if m else "unknown"


def sweethome3d_sources(folder: str | Path, max_cm: float) -> list[MeshSource]:
    """Textured Sweet Home 3D models no larger than ``max_cm`` in any dimension."""
    folder = Path(folder)
    archives = sorted(folder.glob("*.sh3f"))
    if not archives:
        raise AssetSourceError(
            f"no Sweet Home 3D catalogs in {folder}: the default arena's objects come from Debian's "
            f"sweethome3d-furniture package (scripts/setup.sh installs it with apt-get)")
    version = _dpkg_version("sweethome3d-furniture")
    out = []
    for arc in archives:
        catalog = arc.stem
        with zipfile.ZipFile(arc) as zf:
            names = zf.namelist()
            props = java_properties(zf.read("PluginFurnitureCatalog.properties").decode("latin-1"))
        lower = {n.lower() for n in names}
        entries: dict[int, dict[str, str]] = {}
        for key, value in props.items():
            m = re.match(r"^(\w+)#(\d+)$", key)
            if m:
                entries.setdefault(int(m.group(2)), {})[m.group(1)] = value
        for k in sorted(entries):
            e = entries[k]
            try:
                w, d, h = (float(e[x]) for x in ("width", "depth", "height"))
            except (KeyError, ValueError):
                continue
            if max(w, d, h) > max_cm or e.get("doorOrWindow") == "true" or "model" not in e:
                continue
            obj = e["model"].lstrip("/")
            folder_name = obj.rsplit("/", 1)[0].lower() + "/"
            textures = [n for n in lower if n.startswith(folder_name) and n.endswith(IMAGE_SUFFIXES)
                        and not n.endswith(".html")]
            if not textures:
                continue                       # untextured: not a "real textured" object
            rotation = None
            if "modelRotation" in e:
                vals = [float(v) for v in e["modelRotation"].split()]
                if len(vals) == 9:
                    rotation = np.asarray(vals).reshape(3, 3).tolist()
            ident = e.get("id", f"{catalog}#{k}").split("#")[-1]
            out.append(MeshSource(
                name=f"sweethome3d:{catalog}:{ident}", title=e.get("name", ident),
                package="sweethome3d-furniture (Debian)", version=version,
                licence=SWEETHOME3D_LICENCES.get(catalog, "see the catalog's LICENSE.TXT"),
                creator=e.get("creator", "unknown"), obj=obj,
                size_m=(w / 100.0, d / 100.0, h / 100.0), up_axis="y", rotation=rotation,
                archive=str(arc), meta={"catalog": catalog, "category": e.get("category", "")}))
    return out


def robosuite_sources() -> list[MeshSource]:
    root = package_dir("robosuite")
    if root is None:
        raise AssetSourceError("package 'robosuite' is not installed: its textured objects are part of the "
                               "default arena (scripts/setup.sh installs it with `pip install --no-deps robosuite`)")
    version = _version("robosuite")
    out = []
    for name in ROBOSUITE_OBJECTS:
        obj = root / "models" / "assets" / "objects" / "meshes" / f"{name}.obj"
        if not obj.is_file():
            continue
        out.append(MeshSource(name=f"robosuite:{name}", title=name, package="robosuite", version=version,
                              licence="MIT", creator="robosuite authors (ARISE Initiative)", obj=str(obj),
                              size_m=(), up_axis="z"))
    return out


# Sweet Home 3D's own texture catalog (the application's jar, Debian package sweethome3d):
# photographed floors, tiles, stone and wood, each tileable with its real size in cm.
SWEETHOME3D_TEXTURES = "com/eteks/sweethome3d/io/DefaultTexturesCatalog.properties"


def sweethome3d_surfaces(jar: str | Path, exclude) -> list[SurfaceSource]:
    """The textures of Sweet Home 3D's catalog in ``jar`` (training-only surfaces), minus
    ``exclude`` (ids such as "sweethome3d:blueSky": skies and hedges are not tables)."""
    jar = Path(jar)
    if not jar.is_file():
        raise AssetSourceError(
            f"{jar} not found: Sweet Home 3D's texture catalog makes part of the training surfaces "
            "(scripts/setup.sh extracts it from Debian's sweethome3d package with apt-get download; "
            "arena.assets.surfaces.sweethome3d_jar names another place, \"\" leaves them out)")
    with zipfile.ZipFile(jar) as zf:
        props = java_properties(zf.read(SWEETHOME3D_TEXTURES).decode("latin-1"))
    exclude = set(exclude or ())
    entries: dict[int, dict[str, str]] = {}
    for key, value in props.items():
        m = re.match(r"^(\w+)#(\d+)$", key)
        if m:
            entries.setdefault(int(m.group(2)), {})[m.group(1)] = value
    version = _dpkg_version("sweethome3d")
    if version == "unknown":
        version = jar.parent.name.split("_", 1)[-1] if "_" in jar.parent.name else "unknown"
    out = []
    for k in sorted(entries):
        e = entries[k]
        try:
            w, h = float(e["width"]) / 100.0, float(e["height"]) / 100.0
        except (KeyError, ValueError):
            continue
        ident = e.get("id", f"#{k}").split("#")[-1]
        name = f"sweethome3d:{ident}"
        if name in exclude or "image" not in e:
            continue
        out.append(SurfaceSource(name=name, package="sweethome3d (Debian)", version=version,
                                 licence="CC BY 3.0 (Sweet Home 3D catalog, eTeks)", path=jar,
                                 member=e["image"].lstrip("/"), tile_m=(w, h), only_split="train",
                                 creator=e.get("creator", "eTeks")))
    return out
