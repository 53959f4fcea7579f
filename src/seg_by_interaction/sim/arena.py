"""The simulated table-top arena: PyBullet (headless, CPU renderer), four cameras,
swappable table textures, 4-8 objects dropped at random, a floating gripper.

Deterministic given the seed: the same seed and the same calls give bit-identical
images (PyBullet DIRECT + the TinyRenderer are deterministic; all randomness comes
from numpy generators seeded here). Lighting is jittered on every render so that
difference images see real nuisance change between shots, and every shot gets a
camera's own exposure change and sensor noise (photographed surfaces make both visible).
"""
from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import pybullet as p

from seg_by_interaction.types import CameraModel
from seg_by_interaction.assets.build import ensure_library
from seg_by_interaction.assets.pybullet_shapes import MeshShapeCache
from seg_by_interaction.sim.backgrounds import SPLITS, BackgroundLibrary, augment, table_image
from seg_by_interaction.sim.camera_layout import RigSpec, make_cameras, sample_rig, standard_rig
from seg_by_interaction.sim.fork_map import fork_map
from seg_by_interaction.sim.gripper import FloatingGripper
from seg_by_interaction.sim.objects import ObjectLibrary, ObjectSpec, object_texture, spawn
from seg_by_interaction.types import Frames


def smoothstep(s: float) -> float:
    return s * s * (3 - 2 * s)


class Arena:
    """The simulated world: table, objects, gripper, four cameras, in one PyBullet client.

    ``library`` is the built asset library's manifest (``assets.build.ensure_library``);
    without it the cached one is looked up (and built once if missing)."""

    def __init__(self, cfg: dict, seed: int = 0, split: str = "train",
                 library: Optional[dict] = None):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r} (use one of {SPLITS})")
        self.cfg = cfg
        self.a = cfg.arena
        self.r = cfg.robot.sim
        self.seed = int(seed)
        self.split = split
        self.rng = np.random.default_rng((self.seed, 11))        # scenes, placements, backgrounds
        self.light_rng = np.random.default_rng((self.seed, 12))  # lighting jitter per render
        self.noise_rng = np.random.default_rng((self.seed, 13))  # exposure and sensor noise per shot
        self.rig_rng = np.random.default_rng((self.seed, 14))    # camera rigs (arena.cameras.vary)
        self.size_rng = np.random.default_rng((self.seed, 15))   # object sizes (arena.objects.sizes)
        self._noise_bank: Optional[np.ndarray] = None
        self.render_fallbacks = 0      # shares a forked renderer failed and this process redid
        if library is None and (self.a.backgrounds.photos or self.a.objects.meshes):
            library = ensure_library(cfg)      # found in the cache (scripts/setup.sh built it)
        self.backgrounds = BackgroundLibrary(cfg, library)
        self.objects = ObjectLibrary(cfg, library)
        self.object_split = split
        self.background_split = split
        self._tmp = Path(tempfile.mkdtemp(prefix="sbi_arena_"))
        self.cid = p.connect(p.DIRECT)
        self.dt = 1.0 / float(self.a.physics_hz)
        p.setTimeStep(self.dt, physicsClientId=self.cid)
        p.setPhysicsEngineParameter(numSolverIterations=int(self.a.solver_iterations),
                                    deterministicOverlappingPairs=1, physicsClientId=self.cid)
        p.setGravity(0, 0, float(self.a.gravity), physicsClientId=self.cid)
        self.rig = standard_rig(cfg)
        self._sim_cameras = make_cameras(cfg, self.rig)
        self.vary_cameras = bool(cfg.arena.cameras.vary.enabled)
        self._build_table()
        self.gripper = FloatingGripper(self.cid, cfg, list(map(float, self.r.home_position)))
        self._bodies: dict[int, tuple[int, ObjectSpec]] = {}   # arena object id -> (body, spec)
        self._extents: dict[int, np.ndarray] = {}              # arena object id -> its size (m)
        self._textures: dict[str, int] = {}
        self._bg_textures: dict[tuple[int, int], int] = {}     # (background, variant) -> texture id
        self._mesh_shapes = MeshShapeCache(self.cid, self.objects.mesh_root or Path("/"))
        self._scale_fit: dict[str, float] = {}
        self._steps = 0
        self.background_index: Optional[int] = None
        self._check_user_objects()
        self.set_background(move_cameras=False)    # an arena starts with the standard rig

    # ------------------------------------------------------------ geometry / cameras
    @property
    def workspace(self) -> tuple[float, float, float, float]:
        x0, x1, y0, y1 = (float(v) for v in self.a.workspace)
        return (x0, x1, y0, y1)

    @property
    def cameras(self) -> list[CameraModel]:
        return [c.model for c in self._sim_cameras]

    @property
    def time(self) -> float:
        return self._steps * self.dt

    def _build_table(self) -> None:
        s = float(self.a.table_size) / 2
        # collision box whose top face is the table plane z = 0; a textured quad on it
        col = p.createCollisionShape(p.GEOM_BOX, halfExtents=[s, s, 0.01], collisionFramePosition=[0, 0, -0.01],
                                     physicsClientId=self.cid)
        verts = [[-s, -s, 0], [s, -s, 0], [s, s, 0], [-s, s, 0]]
        vis = p.createVisualShape(p.GEOM_MESH, vertices=verts, indices=[0, 1, 2, 0, 2, 3],
                                  normals=[[0, 0, 1]] * 4, uvs=[[0, 0], [1, 0], [1, 1], [0, 1]],
                                  physicsClientId=self.cid)
        self.table = p.createMultiBody(0, col, vis, basePosition=[0, 0, 0], physicsClientId=self.cid)
        fr = self.a.friction
        p.changeDynamics(self.table, -1, lateralFriction=fr.lateral, rollingFriction=fr.rolling,
                         spinningFriction=fr.spinning, physicsClientId=self.cid)

    def set_rig(self, rig: Optional[RigSpec] = None) -> RigSpec:
        """Move the cameras: ``rig``, or one drawn from arena.cameras.vary (exact models, so
        the grasp planner and the labeller project as before); returns it."""
        self.rig = rig if rig is not None else sample_rig(self.cfg, self.rig_rng,
                                                         self.cfg.arena.cameras.vary)
        self._sim_cameras = make_cameras(self.cfg, self.rig)
        return self.rig

    # ------------------------------------------------------------ backgrounds
    def set_background(self, index: Optional[int] = None, move_cameras: bool = True) -> int:
        """Swap the table texture; None = a random background of this arena's split
        (a training arena then also draws one of the photo's augmented variants; an
        explicit index always shows the photo as it is). Returns the library index.
        With arena.cameras.vary enabled the cameras move too (a new scene, new cameras), unless
        ``move_cameras`` is false."""
        if self.vary_cameras and move_cameras:
            self.set_rig()
        variant = 0
        if index is None:
            pool = [i for i, b in enumerate(self.backgrounds.items) if b.split == self.background_split]
            if not pool:
                raise ValueError(f"no backgrounds in split {self.background_split!r}")
            index = pool[int(self.rng.integers(0, len(pool)))]
            if self.background_split == "train":
                variant = int(self.rng.integers(0, int(self.a.backgrounds.augment.variants) + 1))
        if not 0 <= index < len(self.backgrounds):
            raise ValueError(f"background index {index} out of range 0..{len(self.backgrounds) - 1}")
        tex = self._bg_textures.get((index, variant))
        if tex is None:
            img = self.backgrounds[index].image()
            if variant:
                rng = np.random.default_rng((int(self.a.library_seed), 7, index, variant))
                img = augment(img, rng, self.a.backgrounds.augment)
            img = table_image(img, float(self.a.table_size), float(self.a.table_texture_metres))
            path = self._tmp / f"bg_{index}_{variant}.png"
            cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            tex = p.loadTexture(str(path), physicsClientId=self.cid)
            path.unlink(missing_ok=True)
            self._bg_textures[(index, variant)] = tex
        p.changeVisualShape(self.table, -1, textureUniqueId=tex, physicsClientId=self.cid)
        self.background_index = index
        self.background_variant = variant
        return index

    # ------------------------------------------------------------ objects
    def _texture_for(self, spec: ObjectSpec) -> Optional[int]:
        if spec.texture is None or spec.path is not None or spec.mesh is not None:
            return None
        if spec.name not in self._textures:
            size = int(self.a.objects.texture_size)
            path = self._tmp / f"obj_{spec.name}.png"
            cv2.imwrite(str(path), cv2.cvtColor(object_texture(spec, size), cv2.COLOR_RGB2BGR))
            self._textures[spec.name] = p.loadTexture(str(path), physicsClientId=self.cid)
        return self._textures[spec.name]

    def _footprint(self, body: int) -> tuple[float, float]:
        lo, hi = p.getAABB(body, physicsClientId=self.cid)
        ext = sorted([hi[0] - lo[0], hi[1] - lo[1]])
        return ext[0], ext[1]

    def size_choice(self, spec: ObjectSpec) -> tuple[float, float]:
        """(mesh scale, mass) this object gets in the next scene (arena.objects.sizes):
        ``gripper`` shrinks every library model to the jaws (the arena before real sizes),
        ``real`` keeps its catalog size, ``mixed`` draws one of ``levels`` sizes evenly
        spaced (log) between the two. Other objects keep their own size."""
        if spec.mesh is None or "gripper_scale" not in spec.mesh:
            return 1.0, spec.mass
        sz = self.a.objects.sizes
        g, levels = float(spec.mesh["gripper_scale"]), int(sz.levels)
        mode = str(sz.mode)
        if mode == "gripper":
            u = 0.0
        elif mode == "real":
            u = 1.0
        elif mode == "mixed":
            u = int(self.size_rng.integers(levels)) / max(levels - 1, 1)
        else:
            raise ValueError(f"arena.objects.sizes.mode must be gripper, real or mixed, got {mode!r}")
        m_g, m_r = float(spec.mesh["mass"]), float(spec.mesh.get("mass_real", spec.mesh["mass"]))
        return g ** (1.0 - u), float(m_g ** (1.0 - u) * m_r ** u)

    def _spawn(self, spec: ObjectSpec, pos, orn, size: Optional[tuple[float, float]] = None) -> int:
        limit = float(self.a.objects.max_short_side)
        if spec.mesh is None and spec.path is not None and spec.family != "user" \
                and spec.name not in self._scale_fit:
            body = spawn(spec, self.cid, [0, 0, -5], [0, 0, 0, 1])
            short, long_ = self._footprint(body)
            p.removeBody(body, physicsClientId=self.cid)
            self._scale_fit[spec.name] = min(1.0, 0.9 * limit / max(short, 1e-6), 1.6 * limit / max(long_, 1e-6))
        scale = self._scale_fit.get(spec.name, 1.0)
        fitted = spec if scale == 1.0 else ObjectSpec(**{**spec.__dict__, "scale": spec.scale * scale})
        scale, mass = size if size is not None else self.size_choice(spec)
        body = spawn(fitted, self.cid, pos, orn, self._texture_for(spec), meshes=self._mesh_shapes,
                     mesh_scale=scale, mass=mass)
        fr = self.a.friction
        p.changeDynamics(body, -1, lateralFriction=fr.lateral, rollingFriction=fr.rolling,
                         spinningFriction=fr.spinning, physicsClientId=self.cid)
        return body

    def _check_user_objects(self) -> None:
        """Load every user object once so a bad file fails now, with its name."""
        limit = float(self.a.objects.max_short_side)
        for spec in self.objects.items:
            if spec.family != "user":
                continue
            body = spawn(spec, self.cid, [0, 0, -5], [0, 0, 0, 1], meshes=self._mesh_shapes)
            short, _ = self._footprint(body)
            p.removeBody(body, physicsClientId=self.cid)
            if short > limit:
                raise ValueError(f"object {spec.path}: {short:.3f} m across its narrowest side does not "
                                 f"fit the gripper (max {limit} m); set arena.user_object_scale")

    def clear_objects(self) -> None:
        for body, _ in self._bodies.values():
            p.removeBody(body, physicsClientId=self.cid)
        self._bodies.clear()
        self._extents.clear()

    def object_extents(self, obj_id: int) -> np.ndarray:
        """The object's box (x, y, z, m) at the size it has in this scene (zeros when unknown)."""
        self.object_body(obj_id)
        return np.asarray(self._extents.get(obj_id, np.zeros(3)), float)

    def reset_scene(self, num_objects: Optional[int] = None) -> list[int]:
        """Drop 4-8 objects of the arena's object split at random and let them settle."""
        lo, hi = (int(v) for v in self.a.objects_per_scene)
        n = int(self.rng.integers(lo, hi + 1)) if num_objects is None else int(num_objects)
        pool = self.objects.split(self.object_split)
        if not 0 <= n <= len(pool):
            raise ValueError(f"cannot place {n} objects: split {self.object_split!r} has {len(pool)}")
        self.clear_objects()
        self.gripper.teleport(self.r.home_position, 0.0)
        chosen = self.rng.choice(len(pool), size=n, replace=False)
        x0, x1, y0, y1 = self.workspace
        m = float(self.a.drop_margin)
        sz = self.a.objects.sizes
        as_before = str(sz.mode) == "gripper"      # the old rule: the same scenes as before
        budget = float(sz.fill) * (x1 - x0 - 2 * m) * (y1 - y0 - 2 * m)
        placed: list[tuple[np.ndarray, float]] = []
        for idx in chosen:
            spec = pool[int(idx)]
            scale, mass = self.size_choice(spec)
            ext = np.asarray(spec.mesh["extents"], float) * scale if spec.mesh else np.zeros(3)
            radius = 0.5 * float(max(ext[0], ext[1]))
            if not as_before and placed and sum(np.pi * r * r for _, r in placed) \
                    + np.pi * radius * radius > budget:
                continue                               # the table is full: fewer, bigger objects
            for _ in range(50):
                xy = self.rng.uniform([x0 + m, y0 + m], [x1 - m, y1 - m])
                if all(np.linalg.norm(xy - q) > (0.07 if as_before else
                                                 max(0.07, float(sz.spacing) * (radius + r)))
                       for q, r in placed):
                    break
            placed.append((xy, radius))
            z = float(self.rng.uniform(*self.a.drop_height)) + (0.0 if as_before else ext[2] / 2)
            orn = p.getQuaternionFromEuler([0, 0, float(self.rng.uniform(-np.pi, np.pi))])
            body = self._spawn(spec, [float(xy[0]), float(xy[1]), z], orn, size=(scale, mass))
            self._bodies[len(self._bodies) + 1] = (body, spec)
            self._extents[len(self._bodies)] = ext
        self.settle()
        return self.object_ids()

    def settle(self, seconds: Optional[float] = None) -> None:
        self.step(int((self.a.settle_seconds if seconds is None else seconds) / self.dt))
        limit = int(float(self.a.settle_max_seconds) / self.dt)
        waited = 0
        while waited < limit and self._max_speed() > float(self.a.settle_speed):
            self.step(24)
            waited += 24

    def _max_speed(self) -> float:
        speeds = [np.linalg.norm(p.getBaseVelocity(b, physicsClientId=self.cid)[0]) for b, _ in self._bodies.values()]
        return float(max(speeds, default=0.0))

    def object_ids(self) -> list[int]:
        return sorted(self._bodies)

    def object_body(self, obj_id: int) -> int:
        if obj_id not in self._bodies:
            raise ValueError(f"no object with id {obj_id} in the scene (have {self.object_ids()})")
        return self._bodies[obj_id][0]

    def object_spec(self, obj_id: int) -> ObjectSpec:
        self.object_body(obj_id)
        return self._bodies[obj_id][1]

    def object_id_of_body(self, body: int) -> Optional[int]:
        for k, (b, _) in self._bodies.items():
            if b == body:
                return k
        return None

    def object_pose(self, obj_id: int) -> tuple[float, float, float]:
        pos, _ = p.getBasePositionAndOrientation(self.object_body(obj_id), physicsClientId=self.cid)
        return tuple(float(v) for v in pos)

    def object_aabb(self, obj_id: int):
        lo, hi = p.getAABB(self.object_body(obj_id), physicsClientId=self.cid)
        return np.array(lo), np.array(hi)

    def step(self, n: int = 1) -> None:
        for _ in range(int(n)):
            p.stepSimulation(physicsClientId=self.cid)
        self._steps += int(n)

    # ------------------------------------------------------------ rendering
    def _light(self) -> dict:
        L = self.a.lighting
        d = np.asarray(L.direction, float) + self.light_rng.normal(0, float(L.direction_jitter), 3)
        k = 1.0 + float(self.light_rng.normal(0, float(L.intensity_jitter)))
        return dict(lightDirection=d.tolist(), lightColor=[k, k, k],
                    lightAmbientCoeff=float(L.ambient) * k, lightDiffuseCoeff=float(L.diffuse) * k,
                    lightSpecularCoeff=float(L.specular), shadow=int(bool(L.shadow)))

    def _sensor_draw(self, size: int) -> tuple[float, int]:
        """One shot's exposure gain and offset into the noise bank for an image of ``size``
        values (drawn in camera order before any camera renders, so a shot rendered in
        several processes gets the same noise as one rendered here)."""
        n = self.a.sensor
        if self._noise_bank is None or len(self._noise_bank) < 2 * size:
            self._noise_bank = self.noise_rng.standard_normal(2 * size, dtype=np.float32)
            levels = np.arange(256, dtype=np.float32)
            self._noise_sigma = np.sqrt(float(n.read_noise) ** 2 + float(n.shot_noise) ** 2 * levels)
        gain = 1.0 + float(self.noise_rng.normal(0, float(n.exposure_jitter)))
        start = int(self.noise_rng.integers(0, len(self._noise_bank) - size + 1))
        return gain, start

    def _sensor(self, rgb: np.ndarray, draw: tuple[float, int]) -> np.ndarray:
        """What a camera makes of the rendered light: its exposure for this shot (auto-
        exposure drifts a little between shots) and read + shot noise. The noise is cut
        from a bank drawn once (a fresh draw per shot costs 4x the render's share)."""
        gain, start = draw
        noise = self._noise_bank[start:start + rgb.size].reshape(rgb.shape)
        x = rgb.astype(np.float32)
        x *= gain
        x += noise * self._noise_sigma[rgb]
        np.clip(x, 0, 255, out=x)
        return (x + 0.5).astype(np.uint8)

    def _render_camera(self, k: int, light: dict, include_ground_truth: bool):
        """Camera ``k``'s raw RGB (before the sensor) and, if asked, PyBullet's body-id mask."""
        cam = self._sim_cameras[k]
        w, h = cam.model.width, cam.model.height
        _, _, rgba, _, seg = p.getCameraImage(w, h, cam.view, cam.projection, renderer=p.ER_TINY_RENDERER,
                                              physicsClientId=self.cid, **light)
        rgb = np.ascontiguousarray(np.asarray(rgba, np.uint8).reshape(h, w, 4)[:, :, :3])
        return rgb, (np.asarray(seg, np.int32).reshape(h, w) if include_ground_truth else None)

    def render(self, include_ground_truth: bool = False) -> Frames:
        """One shot of all four cameras (lighting, exposure and sensor noise vary per shot).
        ``arena.render_processes`` > 1 renders some cameras in forked snapshots of this
        process, side by side on other cores: the same images, bit for bit."""
        light = self._light()
        lut_size = max([b for b, _ in self._bodies.values()] + [self.gripper.body, self.table]) + 2
        lut = np.zeros(lut_size, np.int32)
        for k, (b, _) in self._bodies.items():
            lut[b + 1] = k
        draws = [self._sensor_draw(c.model.width * c.model.height * 3) for c in self._sim_cameras]
        raw, redone = fork_map(lambda k: self._render_camera(k, light, include_ground_truth),
                               range(len(self._sim_cameras)), int(self.a.render_processes),
                               float(self.a.render_timeout))
        self.render_fallbacks += redone
        images = [self._sensor(rgb, draw) for (rgb, _), draw in zip(raw, draws)]
        gts = [lut[seg.astype(np.int64) + 1] for _, seg in raw] if include_ground_truth else None
        return Frames(images=images, stamp=self.time, cameras=self.cameras, gt_instances=gts)

    def visible_bodies(self) -> list[set[int]]:
        """Per camera, the PyBullet body ids that show (diagnostics, tests)."""
        out = []
        for k in range(len(self._sim_cameras)):
            seg = self._render_camera(k, {}, include_ground_truth=True)[1]
            out.append(set(np.unique(seg).tolist()) - {-1})
        return out

    # ------------------------------------------------------------ gripper motion
    def move_gripper(self, position, yaw: Optional[float] = None, seconds: Optional[float] = None,
                     should_stop=None, speed: Optional[float] = None) -> bool:
        """Straight-line smoothstep move of the palm (at ``speed``, default robot.sim.speed);
        False if ``should_stop`` fired."""
        start, yaw0 = self.gripper.position.copy(), self.gripper.yaw
        goal = np.asarray(position, float)
        yaw1 = yaw0 if yaw is None else yaw0 + (float(yaw) - yaw0 + np.pi) % (2 * np.pi) - np.pi
        if seconds is None:
            dist = float(np.linalg.norm(goal - start)) + 0.05 * abs(yaw1 - yaw0)
            seconds = max(float(self.r.min_move_seconds), dist / float(speed or self.r.speed))
        n = max(1, int(round(seconds / self.dt)))
        for i in range(1, n + 1):
            s = smoothstep(i / n)
            self.gripper.set_pose(start + s * (goal - start), yaw0 + s * (yaw1 - yaw0))
            self.step(1)
            if should_stop is not None and i % 24 == 0 and should_stop():
                return False
        return True

    def set_jaws(self, gap: float, seconds: float) -> None:
        self.gripper.set_gap(gap)
        self.step(int(round(seconds / self.dt)))

    def push(self, start_xy, end_xy) -> None:
        """Drag the closed gripper low over the table from start to end (passive motion data)."""
        g, r = self.gripper, self.r
        travel = g.palm_z_for_tip(float(r["travel_height"]))
        low = g.palm_z_for_tip(float(r["sweep_height"]))
        sx, sy = (float(v) for v in start_xy)
        ex, ey = (float(v) for v in end_xy)
        yaw = math.atan2(ey - sy, ex - sx)          # palm's long side across the motion: jaws close along it
        g.set_gap(0.0)
        self.move_gripper([sx, sy, travel], yaw)
        self.move_gripper([sx, sy, low])
        self.move_gripper([ex, ey, low])
        self.move_gripper([ex, ey, travel])
        self.step(int(0.3 / self.dt))

    def close(self) -> None:
        if self.cid is not None and p.isConnected(self.cid):
            p.disconnect(self.cid)
        self.cid = None
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
