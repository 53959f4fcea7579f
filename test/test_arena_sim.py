"""The simulated arena: determinism, ground truth, camera geometry, grasp physics,
the held shot, resets, splits, user assets and the evaluation sets."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from seg_by_interaction.config import load_config, with_overrides
from seg_by_interaction.robot.interface import (OUTCOME_INVALID_GOAL, OUTCOME_PLACED, OUTCOME_PREEMPTED,
                                                OUTCOME_UNREACHABLE, PHASES)
from seg_by_interaction.sim.arena import Arena
from seg_by_interaction.sim.cameras import SimCameraRig
from seg_by_interaction.sim.footprint import footprint_grasp
from seg_by_interaction.sim.robot import SimRobot
from seg_by_interaction.types import Pose2D


@pytest.fixture(scope="module")
def cfg():
    # geometry and physics checks run in the standard arena (fixed rig, gripper-sized objects);
    # sizes and moving cameras have their own tests below
    STANDARD = load_config().evaluation.standard_arena
    return load_config(overrides=STANDARD)


@pytest.fixture(scope="module")
def arena(cfg):
    a = Arena(cfg, seed=3)
    yield a
    a.close()


def test_same_seed_same_images_and_different_seed_differs(cfg):
    """Also across ``render_processes``: cameras rendered in forked snapshots of the world
    give the very images (and ground truth) of cameras rendered one after the other."""
    runs = []
    for seed, processes in ((5, 2), (5, 1), (6, 2)):
        with Arena(with_overrides(cfg, {"arena.render_processes": processes}), seed=seed) as a:
            a.reset_scene()
            robot = SimRobot(a)
            first = a.render(include_ground_truth=True)
            robot.pick_place(Pose2D(0.0, 0.0, 0.0), Pose2D(0.1, 0.1, 0.5))
            runs.append(first.images + a.render().images + first.gt_instances)
    assert all(np.array_equal(x, y) for x, y in zip(runs[0], runs[1]))
    assert not all(np.array_equal(x, y) for x, y in zip(runs[0], runs[2]))


def test_frames_shape_and_ground_truth_ids(arena):
    ids = arena.reset_scene(6)
    assert ids == [1, 2, 3, 4, 5, 6]
    f = SimCameraRig(arena).capture(include_ground_truth=True)
    assert len(f.images) == 4 and len(f.cameras) == 4
    for img, gt, cam in zip(f.images, f.gt_instances, f.cameras):
        assert img.shape == (350, 430, 3) and img.dtype == np.uint8
        assert gt.shape == (350, 430) and gt.dtype == np.int32
        assert set(np.unique(gt)) <= {0, *ids}
        assert (gt == 0).mean() > 0.5                      # mostly table
        # each visible object's mask lies where its body projects
        for k in ids:
            m = gt == k
            if m.sum() < 400:          # a sliver behind another object: its centre is hidden
                continue
            uv = cam.project(np.array([arena.object_pose(k)]))[0]
            ys, xs = np.nonzero(m)
            # (the body's origin, its box centre, can fall in a hollow or behind a rim of
            # the object seen at a slant: within a fifth of the mask's size of it)
            assert np.min(np.hypot(xs - uv[0], ys - uv[1])) < max(3.0, 0.2 * np.sqrt(m.sum()))
    seen = set().union(*(set(np.unique(g)) for g in f.gt_instances)) - {0}
    assert seen == set(ids)                               # every object visible somewhere
    assert SimCameraRig(arena).capture().gt_instances is None


def _polygon_centroid(P):
    x, y = P[:, 0], P[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    c = x * y1 - x1 * y
    return np.array([((x + x1) * c).sum(), ((y + y1) * c).sum()]) / (3 * c.sum())


def test_pixel_plane_mapping_is_exact(arena):
    """A flat marker on the table renders exactly where the camera model projects it."""
    import pybullet as p
    cid = arena.cid
    arena.clear_objects()
    half = 0.01
    vis = p.createVisualShape(p.GEOM_BOX, halfExtents=[half, half, 0.0005], rgbaColor=[1, 0, 0, 1],
                              physicsClientId=cid)
    body = p.createMultiBody(0, -1, vis, basePosition=[0.07, -0.05, 0.0005], physicsClientId=cid)
    try:
        arena._bodies[1] = (body, arena.objects[0])
        f = arena.render(include_ground_truth=True)
        for cam, gt in zip(f.cameras, f.gt_instances):
            ys, xs = np.nonzero(gt == 1)
            corners = cam.project(np.array([[0.07 + dx, -0.05 + dy, 0.001] for dx, dy in
                                            ((-half, -half), (half, -half), (half, half), (-half, half))]))
            # the rendered marker sits where the model projects it: its pixel centroid is the
            # projected square's area centroid to a fraction of a pixel (a half-pixel
            # convention error would fail)
            assert np.abs([xs.mean(), ys.mean()] - _polygon_centroid(corners)).max() < 0.3
            plane = cam.pixel_to_plane(np.column_stack([xs, ys]).astype(float))
            assert np.abs(plane - [0.07, -0.05]).max() < half + 0.002
            back = cam.project(cam.pixel_to_plane(np.array([[10.0, 20.0], [400.0, 300.0]])))
            assert np.allclose(back, [[10, 20], [400, 300]], atol=1e-6)
    finally:
        arena._bodies.clear()
        p.removeBody(body, physicsClientId=cid)


def test_lone_object_centroid_grasp_lifts_at_least_90_percent(cfg):
    trials, lifted = 20, 0
    with Arena(cfg, seed=11) as a:
        robot = SimRobot(a)
        for _ in range(trials):
            a.reset_scene(1)
            pick = footprint_grasp(a.render(include_ground_truth=True), 1, a.workspace)
            heights = []
            out = robot.pick_place(pick, Pose2D(-0.1, 0.1, 0.0), on_held=lambda: heights.append(a.object_pose(1)[2]))
            assert out.outcome == OUTCOME_PLACED
            really_up = heights[0] > 0.3                  # physics, not the robot's own claim
            assert out.object_in_gripper == really_up
            lifted += really_up
    assert lifted / trials >= 0.9


def test_aiming_at_empty_table_rarely_lifts(arena):
    robot = SimRobot(arena)
    rng = np.random.default_rng(0)
    x0, x1, y0, y1 = arena.workspace
    tries = lifted = 0
    while tries < 10:
        arena.reset_scene(4)
        xy = rng.uniform([x0, y0], [x1, y1])
        if min(np.hypot(*(np.array(arena.object_pose(k)[:2]) - xy)) for k in arena.object_ids()) < 0.1:
            continue
        tries += 1
        out = robot.pick_place(Pose2D(*xy, float(rng.uniform(0, np.pi))), Pose2D(0.0, 0.0, 0.0))
        lifted += out.object_in_gripper
    assert lifted <= 1


def test_held_shot_shows_no_gripper_or_held_object(arena):
    arena.reset_scene(1)
    robot = SimRobot(arena)
    pick = footprint_grasp(arena.render(include_ground_truth=True), 1, arena.workspace)
    phases = []
    out = robot.pick_place(pick, Pose2D(0.1, 0.0, 0.0), on_held=arena.visible_bodies,
                           feedback=lambda ph, pr: phases.append(ph))
    assert out.object_in_gripper
    held_body = arena.object_body(1)
    for visible in out.held_result:
        assert arena.gripper.body not in visible and held_body not in visible
    assert [ph for ph in PHASES if ph in phases] == list(dict.fromkeys(phases))   # phases in order
    # and after the place the object is back on the table near the place point (a tall
    # bottle may topple: its centre then lies up to half its length away)
    x, y, z = arena.object_pose(1)
    lo, hi = arena.object_aabb(1)
    assert np.hypot(x - 0.1, y) < 0.04 + 0.5 * float(np.max(hi - lo)) and hi[2] < 0.12


def test_reset_sweep_moves_objects_towards_centre(arena):
    arena.reset_scene(5)
    import pybullet as p
    x0, x1, y0, y1 = arena.workspace
    corners = [(x0 + 0.03, y0 + 0.03), (x1 - 0.03, y1 - 0.03), (x0 + 0.03, y1 - 0.03), (x1 - 0.03, 0.0),
               (0.0, y0 + 0.03)]
    for k, (x, y) in zip(arena.object_ids(), corners):
        p.resetBasePositionAndOrientation(arena.object_body(k), [x, y, 0.05], [0, 0, 0, 1],
                                          physicsClientId=arena.cid)
    arena.settle()
    before = np.array([arena.object_pose(k)[:2] for k in arena.object_ids()])
    SimRobot(arena).reset_sweep()
    after = np.array([arena.object_pose(k)[:2] for k in arena.object_ids()])
    assert np.linalg.norm(after - before, axis=1).max() > 0.05
    assert np.linalg.norm(after, axis=1).mean() < np.linalg.norm(before, axis=1).mean() - 0.03


def test_push_moves_what_is_in_the_way(arena):
    arena.reset_scene(1)
    x, y, _ = arena.object_pose(1)
    arena.push((x - 0.12, y), (x + 0.08, y))
    nx, ny, _ = arena.object_pose(1)
    assert nx - x > 0.03


def test_lighting_varies_a_little_between_shots(arena):
    arena.reset_scene(4)
    a, b = arena.render(), arena.render()
    diff = np.abs(a.images[0].astype(int) - b.images[0].astype(int))
    assert diff.mean() > 0.2            # real nuisance change ...
    assert diff.mean() < 25             # ... but small


def test_robot_rejects_bad_goals_and_can_be_preempted(arena):
    robot = SimRobot(arena)
    assert robot.pick_place(Pose2D(5.0, 0.0), Pose2D(0.0, 0.0)).outcome == OUTCOME_UNREACHABLE
    assert robot.pick_place(Pose2D(float("nan"), 0.0), Pose2D(0.0, 0.0)).outcome == OUTCOME_INVALID_GOAL
    calls = []
    out = robot.pick_place(Pose2D(0.0, 0.0), Pose2D(0.1, 0.1),
                           feedback=lambda ph, pr: calls.append(ph), should_stop=lambda: "close" in calls)
    assert out.outcome == OUTCOME_PREEMPTED
    assert robot.state()["gripper_gap"] > 0.05       # left with the jaws open


def test_splits_are_disjoint_and_sized_as_the_paper(arena):
    objs = {s: {o.name for o in arena.objects.split(s)} for s in ("train", "val", "test")}
    bgs = {s: {b.name for b in arena.backgrounds.split(s)} for s in ("train", "val", "test")}
    assert [len(objs[s]) for s in ("train", "val", "test")] == [36, 8, 15]
    # the paper's 24/6/10, plus training-only surfaces (Sweet Home 3D's catalog) in train
    extra = [b for b in arena.backgrounds.split("train") if b.name.startswith("sweethome3d:")]
    assert [len(bgs[s]) for s in ("train", "val", "test")] == [24 + len(extra), 6, 10]
    assert len(extra) >= 15
    for d in (objs, bgs):
        assert not (d["train"] & d["val"]) and not (d["train"] & d["test"]) and not (d["val"] & d["test"])
    # no split shares a photograph or a model, nor two copies of one (groups)
    for lib in (arena.objects.items, arena.backgrounds.items):
        groups = {s: {q.group for q in lib if q.split == s} for s in ("train", "val", "test")}
        assert not (groups["train"] & groups["val"]) and not (groups["train"] & groups["test"])
        assert not (groups["val"] & groups["test"])
    sources = [b.source["source"] for b in arena.backgrounds.items]
    assert len(set(sources)) == len(sources)
    meshes = [o.mesh["source"] for o in arena.objects.items]
    assert len(set(meshes)) == len(meshes)
    # the default libraries are real: textured meshes and photographs (>= 70 %: here all)
    assert np.mean([o.real for o in arena.objects.items]) >= 0.7
    assert np.mean([b.source is not None for b in arena.backgrounds.items]) >= 0.7
    assert len({b.family for b in arena.backgrounds.items}) >= 5          # wood, plaster, marble, ...
    imgs = [arena.backgrounds[i].image() for i in range(0, 40, 7)]
    assert len({im.tobytes() for im in imgs}) == len(imgs)


def test_every_object_fits_the_jaws(cfg):
    with Arena(cfg, seed=0) as a:
        for split in ("train", "val", "test"):
            a.object_split = split
            pool = a.objects.split(split)
            for spec in pool:
                body = a._spawn(spec, [0, 0, 0.1], [0, 0, 0, 1])
                short, _ = a._footprint(body)
                import pybullet as p
                p.removeBody(body, physicsClientId=a.cid)
                assert short < cfg["robot"]["sim"]["jaw_open"] - 0.015, spec.name


def _cube_obj(path, s=0.02):
    v = [(x, y, z) for x in (-s, s) for y in (-s, s) for z in (-s, s)]
    faces = [(1, 3, 4, 2), (5, 6, 8, 7), (1, 2, 6, 5), (3, 7, 8, 4), (1, 5, 7, 3), (2, 4, 8, 6)]
    path.write_text("".join(f"v {x} {y} {z}\n" for x, y, z in v) +
                    "".join("f " + " ".join(map(str, f)) + "\n" for f in faces))


def test_user_assets_load(cfg, tmp_path):
    bg_dir = tmp_path / "bgs"
    bg_dir.mkdir()
    img = np.zeros((64, 80, 3), np.uint8)
    img[:, :40] = (0, 0, 255)
    cv2.imwrite(str(bg_dir / "mine.png"), img)
    obj = tmp_path / "cube.obj"
    _cube_obj(obj)
    c = load_config(overrides={"arena.user_backgrounds": [str(bg_dir)], "arena.user_objects": [str(obj)],
                               "arena.user_object_split": "test", "arena.user_background_split": "val"})
    with Arena(c, seed=0, split="test") as a:
        names = [b.name for b in a.backgrounds.split("val")]
        assert "user:mine.png" in names
        idx = [i for i, b in enumerate(a.backgrounds.items) if b.name == "user:mine.png"][0]
        a.set_background(idx)
        assert "user:cube.obj" in [o.name for o in a.objects.split("test")]
        a.objects.items = [o for o in a.objects.items if o.name == "user:cube.obj" or o.split != "test"]
        a.reset_scene(1)
        assert a.object_spec(1).name == "user:cube.obj"
        f = a.render(include_ground_truth=True)
        assert any((g == 1).sum() > 50 for g in f.gt_instances)


@pytest.mark.parametrize("kind,content,match", [
    ("bg", None, "not found"),
    ("bg", b"not an image", "not a readable image"),
    ("bg", "tiny", "smaller than"),
    ("bg_txt", b"x", "unsupported file type"),
    ("obj", None, "not found"),
    ("obj_txt", b"x", "unsupported file type"),
    ("obj_urdf", b"<robot><link", "could not load"),
    ("obj_big", None, "does not fit"),
])
def test_bad_user_assets_give_clear_errors(cfg, tmp_path, kind, content, match):
    name = {"bg": "b.png", "bg_txt": "b.txt", "obj": "o.obj", "obj_txt": "o.txt", "obj_urdf": "o.urdf",
            "obj_big": "big.obj"}[kind]
    path = tmp_path / name
    if content == "tiny":
        cv2.imwrite(str(path), np.zeros((8, 8, 3), np.uint8))
    elif kind == "obj_big":
        _cube_obj(path, s=0.1)
    elif content is not None:
        path.write_bytes(content)
    key = "arena.user_backgrounds" if kind.startswith("bg") else "arena.user_objects"
    c = load_config(overrides={key: [str(path)]})
    with pytest.raises(ValueError, match=match) as err:
        Arena(c, seed=0).close()
    assert name in str(err.value)


def test_bad_split_names_are_rejected(cfg):
    with pytest.raises(ValueError, match="unknown split"):
        Arena(cfg, split="holdout")


def test_eval_set_is_coco_and_reproducible(cfg, tmp_path):
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO
    from seg_by_interaction.sim.datasets import generate_eval_set
    p1 = generate_eval_set(tmp_path / "a", cfg, split="val", seed=4, num_backgrounds=2, images_per_background=2)
    p2 = generate_eval_set(tmp_path / "b", cfg, split="val", seed=4, num_backgrounds=2, images_per_background=2)
    d1, d2 = json.loads(p1.read_text()), json.loads(p2.read_text())
    assert d1["annotations"] == d2["annotations"] and len(d1["images"]) == 4
    for im in d1["images"]:
        a = cv2.imread(str(p1.parent / im["file_name"]))
        b = cv2.imread(str(p2.parent / im["file_name"]))
        assert a.shape == (350, 430, 3) and np.array_equal(a, b)
    coco = COCO(str(p1))
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) >= 4 * 3
    for ann in anns:
        m = coco.annToMask(ann)
        assert m.sum() == ann["area"]
    val_bgs = {b.name for b in Arena(cfg).backgrounds.split("val")}
    assert {im["background"] for im in d1["images"]} <= val_bgs
    val_objs = {o.name for o in Arena(cfg).objects.split("val")}
    assert {o for im in d1["images"] for o in im["objects"]} <= val_objs
    p3 = generate_eval_set(tmp_path / "c", cfg, split="train", seed=4, num_backgrounds=1,
                           images_per_background=1, object_split="test")
    d3 = json.loads(p3.read_text())
    test_objs = {o.name for o in Arena(cfg).objects.split("test")}
    assert set(d3["images"][0]["objects"]) <= test_objs
    del mask_utils


def test_objects_come_at_gripper_mixed_and_real_sizes(cfg):
    """arena.objects.sizes: gripper shrinks every model to the jaws, real keeps its catalog size
    (3-30 cm), mixed draws one of the levels in between per object and scene."""
    from seg_by_interaction.config import with_overrides
    longest = {}
    for mode in ("gripper", "real", "mixed"):
        with Arena(with_overrides(cfg, {"arena.objects.sizes.mode": mode}), seed=4) as a:
            sizes = []
            for _ in range(3):
                a.reset_scene()
                sizes += [float(max(a.object_extents(i)[:2])) for i in a.object_ids()]
                assert all(np.all(np.isfinite(a.object_pose(i))) and a.object_pose(i)[2] > -0.01
                           for i in a.object_ids())              # nothing fell through the table
            longest[mode] = np.array(sizes)
    assert longest["gripper"].max() <= 0.095
    assert longest["real"].max() > 0.2 and longest["real"].min() >= 0.03
    assert longest["mixed"].max() > 0.1 and longest["mixed"].min() < 0.09


def test_cameras_anywhere_stay_exact_and_see_only_table(cfg):
    """arena.cameras.vary: each background change moves the rig (distance, height, FOV,
    resolution); the models still project exactly where the renderer draws."""
    from seg_by_interaction.config import with_overrides
    from seg_by_interaction.sim.camera_layout import sees_only_table
    c = with_overrides(cfg, {"arena.cameras.vary.enabled": True})
    rigs = set()
    with Arena(c, seed=6) as a:
        assert a.cameras[0].width == 430            # an arena starts with the standard rig
        for _ in range(4):
            a.set_background(None)
            a.reset_scene(3)
            f = a.render(include_ground_truth=True)
            rigs.add((round(a.rig.distance, 3), a.rig.width))
            for img, gt, cam in zip(f.images, f.gt_instances, f.cameras):
                assert img.shape[:2] == gt.shape == (cam.height, cam.width)
                assert sees_only_table(cam, float(c["arena"]["table_size"]) / 2)
                for k in a.object_ids():
                    m = gt == k
                    if m.sum() < 400:
                        continue
                    uv = cam.project(np.array([a.object_pose(k)]))[0]
                    ys, xs = np.nonzero(m)
                    assert np.min(np.hypot(xs - uv[0], ys - uv[1])) < max(3.0, 0.2 * np.sqrt(m.sum()))
    assert len(rigs) == 4
