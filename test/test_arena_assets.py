"""The realistic arena's asset library: photographed surfaces and textured meshes from
installed packages, each rendering with its texture; the pipeline's pieces on small
hand-made inputs (multi-material OBJ, 16-bit PNG, user OBJ+MTL); seams out of view;
the procedural arena still available as an option."""
from __future__ import annotations


import cv2
import numpy as np
import pybullet as p
import pytest

from seg_by_interaction.config import load_config
from seg_by_interaction.sim.arena import Arena
from seg_by_interaction.assets import wavefront as wf
from seg_by_interaction.assets.build import asset_root, build_surfaces, ensure_library
from seg_by_interaction.sim.backgrounds import table_image
from seg_by_interaction.config import preset_overrides

PROCEDURAL = preset_overrides("procedural")


@pytest.fixture(scope="module")
def cfg():
    # the standard rig: the photo covers what its cameras see (moved rigs may see the mirror)
    STANDARD = load_config().evaluation.standard_arena
    return load_config(overrides=STANDARD)


@pytest.fixture
def own_cache(tmp_path):
    """An asset cache of the test's own (user objects built there stay in tmp_path) that
    links the built libraries of the shared one: an Arena on it finds them instead of
    spending a minute rebuilding them."""
    shared = asset_root(load_config())
    cache = tmp_path / "cache"
    cache.mkdir()
    for lib in shared.iterdir() if shared.is_dir() else []:
        if (lib / "manifest.json").is_file():
            (cache / lib.name).symlink_to(lib, target_is_directory=True)
    return cache


@pytest.fixture(scope="module")
def arena(cfg):
    a = Arena(cfg, seed=0)
    yield a
    a.close()


def test_every_background_renders_as_its_photo(arena):
    """Each surface shows on the table as the photograph (not PyBullet's white for a
    texture it could not load), and none is blank."""
    arena.clear_objects()
    for i, bg in enumerate(arena.backgrounds.items):
        arena.set_background(i)
        shot = arena.render().images[0].astype(float)
        photo = bg.image().astype(float)
        # a texture PyBullet could not load renders flat white: only sensor noise varies
        assert shot.std(axis=(0, 1)).mean() > max(3.0, 0.15 * photo.std(axis=(0, 1)).mean()), bg.name
        # the lit photo's mean colour stays within the lighting/exposure range of its own
        ratio = shot.reshape(-1, 3).mean(0) / np.maximum(photo.reshape(-1, 3).mean(0), 1.0)
        assert np.all((ratio > 0.45) & (ratio < 1.6)), (bg.name, ratio)


def test_every_object_renders_with_its_texture(arena):
    """Every library object shows in the cameras, its textured parts not white/flat."""
    arena.set_background(0)
    cid = arena.cid
    for split in ("train", "val", "test"):
        for spec in arena.objects.split(split):
            body = arena._spawn(spec, [0.0, 0.0, 0.05], [0, 0, 0, 1])
            f = arena.render()
            seg = [np.asarray(p.getCameraImage(c.model.width, c.model.height, c.view, c.projection,
                                               renderer=p.ER_TINY_RENDERER, physicsClientId=cid)[4])
                   .reshape(c.model.height, c.model.width) == body for c in arena._sim_cameras]
            px = np.concatenate([im[m] for im, m in zip(f.images, seg)]).astype(float)
            p.removeBody(body, physicsClientId=cid)
            assert len(px) > 400, spec.name
            assert px.std(0).mean() > 4.0, spec.name
            assert (px.min(1) > 245).mean() < 0.6, spec.name
            assert spec.real and spec.mesh["faces"] <= arena.a["assets"]["meshes"]["max_faces"], spec.name


def test_no_camera_sees_past_the_photo(arena):
    """The photo covers everything the cameras see once: no mirrored border (or its
    seam) and no repeat is in view."""
    arena.clear_objects()
    a = arena.a
    s = 256
    marker = np.zeros((s, s, 3), np.uint8)
    marker[:] = (0, 255, 0)
    table = table_image(marker, float(a["table_size"]), float(a["table_texture_metres"]))
    pad = (table.shape[0] - s) // 2
    assert pad > 0
    table[:] = (255, 0, 0)
    table[pad:pad + s, pad:pad + s] = (0, 255, 0)
    path = arena._tmp / "marker.png"
    cv2.imwrite(str(path), cv2.cvtColor(table, cv2.COLOR_RGB2BGR))
    tex = p.loadTexture(str(path), physicsClientId=arena.cid)
    p.changeVisualShape(arena.table, -1, textureUniqueId=tex, physicsClientId=arena.cid)
    try:
        for im in arena.render().images:
            green = (im[..., 1] > 120) & (im[..., 0] < 100)
            red = (im[..., 0] > 120) & (im[..., 1] < 100)
            assert green.mean() > 0.95 and red.sum() == 0
    finally:
        arena.set_background(0)


def test_training_arena_sees_augmented_variants_and_test_never(cfg):
    with Arena(cfg, seed=2, split="train") as a:
        variants = set()
        for _ in range(12):
            a.set_background()
            variants.add(a.background_variant)
        assert len(variants) > 1
        a.set_background(0)
        assert a.background_variant == 0                  # explicit index: the photo as it is
    with Arena(cfg, seed=2, split="test") as a:
        for _ in range(6):
            a.set_background()
            assert a.background_variant == 0


def test_library_is_built_once_and_reused(cfg):
    m1 = ensure_library(cfg)
    m2 = ensure_library(cfg)
    assert m1["root"] == m2["root"] and m1["key"] == m2["key"]
    assert len(m1["surfaces"]) >= 40 and len(m1["objects"]) >= 59
    for entry in m1["objects"]:
        assert entry["licence"] and entry["creator"] and entry["source"]


def test_sixteen_bit_png_becomes_an_eight_bit_surface(cfg, tmp_path, monkeypatch):
    """metaworld ships a 16-bit PNG; PyBullet renders those white. The builder re-saves
    every surface as 8-bit RGB and PyBullet then shows it."""
    from seg_by_interaction.assets import build, sources
    img16 = (np.random.default_rng(0).random((300, 300, 3)) * 65535).astype(np.uint16)
    src_png = tmp_path / "w16.png"
    cv2.imwrite(str(src_png), img16)
    assert cv2.imread(str(src_png), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    monkeypatch.setattr(build, "_surface_candidates", lambda c: [sources.SurfaceSource(
        name="t:w16", package="t", version="0", licence="MIT", path=src_png)])
    out = tmp_path / "lib"
    kept, rejected = build_surfaces(cfg, out, print)
    assert not rejected and len(kept) == 1
    saved = cv2.imread(str(out / kept[0]["file"]), cv2.IMREAD_UNCHANGED)
    assert saved.dtype == np.uint8 and saved.shape[2] == 3
    cid = p.connect(p.DIRECT)
    try:
        vis = p.createVisualShape(p.GEOM_BOX, halfExtents=[1, 1, 0.01], physicsClientId=cid)
        body = p.createMultiBody(0, -1, vis, [0, 0, 0], physicsClientId=cid)
        tex = p.loadTexture(str(out / kept[0]["file"]), physicsClientId=cid)
        p.changeVisualShape(body, -1, textureUniqueId=tex, rgbaColor=[1, 1, 1, 1], physicsClientId=cid)
        view = p.computeViewMatrix([0, 0, 2], [0, 0, 0], [0, 1, 0], physicsClientId=cid)
        proj = p.computeProjectionMatrixFOV(40, 1, 0.1, 5, physicsClientId=cid)
        rgb = np.asarray(p.getCameraImage(64, 64, view, proj, renderer=p.ER_TINY_RENDERER,
                                          physicsClientId=cid)[2]).reshape(64, 64, 4)[:, :, :3]
    finally:
        p.disconnect(cid)
    assert rgb.std() > 10 and (rgb.min(2) > 245).mean() < 0.1


def _two_material_obj(folder, texture=True):
    """A box: top face textured (checker), the rest plain red."""
    folder.mkdir(parents=True, exist_ok=True)
    checker = np.indices((32, 32)).sum(0) // 8 % 2 * 255
    cv2.imwrite(str(folder / "check.png"), np.dstack([checker] * 3).astype(np.uint8))
    (folder / "m.mtl").write_text("newmtl top\nKd 1 1 1\n" + ("map_Kd check.png\n" if texture else "")
                                  + "newmtl side\nKd 0.9 0.1 0.1\n")
    v = [(x, y, z) for x in (-1, 1) for y in (-1, 1) for z in (0, 2)]      # cm, Y-up would be odd: z-up
    lines = ["mtllib m.mtl"] + [f"v {x} {y} {z}" for x, y, z in v]
    lines += ["vt 0 0", "vt 1 0", "vt 1 1", "vt 0 1"]
    lines += ["usemtl top", "f 2/1 6/2 8/3 4/4"]
    lines += ["usemtl side", "f 1 3 7 5", "f 1 5 6 2", "f 3 4 8 7", "f 1 2 4 3", "f 5 7 8 6"]
    (folder / "box.obj").write_text("\n".join(lines) + "\n")
    return folder / "box.obj"


def test_obj_is_split_by_material_with_uvs_only_where_textured(tmp_path):
    parts = wf.read_obj(_two_material_obj(tmp_path / "m"))
    assert [q.material.name for q in parts] == ["top", "side"]
    top, side = parts
    assert top.textured and top.material.texture == "check.png" and len(top.faces) == 2
    assert not side.textured and side.material.rgba[:3] == (0.9, 0.1, 0.1) and len(side.faces) == 10
    with pytest.raises(wf.MeshError, match="out of range"):
        wf.parse_obj("v 0 0 0\nf 1 2 3\n", "bad.obj")
    with pytest.raises(wf.MeshError, match="no faces"):
        wf.parse_obj("v 0 0 0\n", "empty.obj")


def test_decimation_keeps_the_face_budget_and_the_uvs(tmp_path):
    # a finely tessellated textured sphere-ish grid
    n = 40
    u, w = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n))
    verts = np.column_stack([np.cos(u.ravel() * 6.28) * np.sin(w.ravel() * 3.14),
                             np.sin(u.ravel() * 6.28) * np.sin(w.ravel() * 3.14), np.cos(w.ravel() * 3.14)])
    faces = []
    for i in range(n - 1):
        for j in range(n - 1):
            a = i * n + j
            faces += [[a, a + 1, a + n], [a + 1, a + n + 1, a + n]]
    part = wf.MeshPart(wf.Material("m", texture="t.png"), verts, np.array(faces),
                       np.column_stack([u.ravel(), w.ravel()]))
    before = len(part.faces)
    wf.decimate([part], 600)
    assert len(part.faces) < before / 2
    assert part.uvs.shape == (len(part.vertices), 2) and part.uvs.min() >= 0 and part.uvs.max() <= 1


def test_user_textured_obj_loads_with_its_texture(cfg, tmp_path, own_cache):
    obj = _two_material_obj(tmp_path / "user")
    c = load_config(overrides={"arena.user_objects": [str(obj)], "arena.user_object_scale": 0.02,
                               "arena.user_object_split": "test", "arena.assets.cache_dir": str(own_cache)})
    with Arena(c, seed=0, split="test") as a:
        spec = [o for o in a.objects.split("test") if o.name == "user:box.obj"][0]
        assert spec.real and len(spec.mesh["parts"]) == 2
        body = a._spawn(spec, [0, 0, 0.03], [0, 0, 0, 1])
        lo, hi = p.getAABB(body, physicsClientId=a.cid)
        assert np.allclose(np.subtract(hi, lo), [0.04, 0.04, 0.04], atol=0.006)      # 2 units x 0.02 m
        p.removeBody(body, physicsClientId=a.cid)
        a.objects.items = [o for o in a.objects.items if o.name == "user:box.obj" or o.split != "test"]
        a.reset_scene(1)
        f = a.render(include_ground_truth=True)
        cam = int(np.argmax([(g == 1).sum() for g in f.gt_instances]))
        px = f.images[cam][f.gt_instances[cam] == 1].astype(float)
        assert len(px) > 100
        reddish = (px[:, 0] > px[:, 1] + 40).mean()
        assert reddish > 0.3                                  # the plain red sides (Kd) show


def test_bad_user_obj_gives_a_clear_error(tmp_path, own_cache):
    bad = tmp_path / "broken.obj"
    bad.write_text("v 0 0 0\nv 1 0 0\nf 1 2 9\n")
    c = load_config(overrides={"arena.user_objects": [str(bad)], "arena.assets.cache_dir": str(own_cache)})
    with pytest.raises(ValueError, match="broken.obj"):
        Arena(c, seed=0).close()
    assert not (own_cache / "user").exists() or not any((own_cache / "user").iterdir())   # nothing kept


def test_procedural_arena_is_still_an_option():
    c = load_config(overrides=PROCEDURAL)
    with Arena(c, seed=0) as a:
        assert [len(a.objects.split(s)) for s in ("train", "val", "test")] == [36, 8, 15]
        assert [len(a.backgrounds.split(s)) for s in ("train", "val", "test")] == [24, 6, 10]
        assert not any(o.real for o in a.objects.items)
        assert all(b.source is None for b in a.backgrounds.items)
        a.reset_scene(5)
        f = a.render(include_ground_truth=True)
        assert len(set(np.unique(np.concatenate([g.ravel() for g in f.gt_instances]))) - {0}) == 5


def test_held_and_home_positions_are_out_of_every_view_shadow_included():
    quiet = load_config(overrides={"arena.sensor.read_noise": 0.0, "arena.sensor.shot_noise": 0.0,
                                   "arena.sensor.exposure_jitter": 0.0, "arena.lighting.direction_jitter": 0.0,
                                   "arena.lighting.intensity_jitter": 0.0})
    with Arena(quiet, seed=0) as a:
        a.reset_scene(4)
        g = a.gripper
        g.teleport([5.0, 5.0, 3.0], 0.0)                   # far away: no gripper, no shadow
        reference = np.stack(a.render().images).astype(int)
        for pos in (a.r["home_position"], a.r["held_position"]):
            g.teleport(pos, 0.0)
            for visible in a.visible_bodies():
                assert g.body not in visible
            changed = np.abs(np.stack(a.render().images).astype(int) - reference).max(axis=3) > 10
            assert changed.sum() == 0, f"the gripper at {pos} shows (or its shadow does)"
