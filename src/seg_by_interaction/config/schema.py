"""The configuration's typed sections: one model per section of ``config/default.yaml``.

The YAML presets hold every value and its comment (why this number); these models hold
what a value may be: its type, its range, its choices. Unknown keys are errors, a number
in quotes is an error, a bool is not an int, and every error names its key. Models are
frozen: code reads a configuration, and a changed copy comes from ``with_overrides``.
Each module is given the section(s) it reads (``cfg.training``, ``cfg.arena.cameras``).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# ------------------------------------------------------------------ value types
Count = Annotated[int, Field(ge=1)]                 # how many: at least one
NonNegInt = Annotated[int, Field(ge=0)]
NonNeg = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Unit = Annotated[float, Field(ge=0, le=1)]          # probabilities, fractions, thresholds
UnitPositive = Annotated[float, Field(gt=0, le=1)]  # IoU bounds, shares that must be above 0
Split = Literal["train", "val", "test"]
Precision = Literal["auto", "float32", "bfloat16"]   # runtime.compute_dtype


def _ordered(pair: list) -> list:
    if pair[0] > pair[1]:
        raise ValueError(f"a range [low, high] needs low <= high, got {pair}")
    return pair


def _pair(item) -> Any:
    return Annotated[list[item], Field(min_length=2, max_length=2), AfterValidator(_ordered)]


Range = _pair(float)                                 # [low, high]
PositiveRange = _pair(Positive)
UnitRange = _pair(UnitPositive)
CountRange = _pair(Count)
NonNegRange = _pair(NonNeg)
Vector3 = Annotated[list[float], Field(min_length=3, max_length=3)]
Rectangle = Annotated[list[float], Field(min_length=4, max_length=4)]   # xmin xmax ymin ymax


class Section(BaseModel):
    """A section: strict types (an int will do for a float, nothing else is converted),
    no unknown keys, read-only."""
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    # ---- read access in the dict style (``section[key]``, ``.get``, ``.items``) for code not
    # yet moved to attributes; the attribute style is the one to use
    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in type(self).model_fields

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in type(self).model_fields else default

    def keys(self):
        return type(self).model_fields.keys()

    def items(self):
        return ((k, getattr(self, k)) for k in type(self).model_fields)


def plain(section) -> dict:
    """A section (or a mapping) as plain data: what checkpoints and reports store."""
    return section.model_dump() if isinstance(section, BaseModel) else dict(section or {})


# ------------------------------------------------------------------ arena
class ArenaSplits(Section):
    backgrounds: Annotated[list[NonNegInt], Field(min_length=3, max_length=3)]   # train val test
    objects: Annotated[list[NonNegInt], Field(min_length=3, max_length=3)]


class BackgroundAugment(Section):
    variants: Count
    crop: UnitRange
    brightness: NonNeg
    contrast: NonNeg
    saturation: NonNeg
    hue_deg: NonNeg


class ArenaBackgrounds(Section):
    photos: bool
    procedural: NonNegInt
    augment: BackgroundAugment


class Friction(Section):
    lateral: NonNeg
    rolling: NonNeg
    spinning: NonNeg


class CameraRanges(Section):
    """Where cameras may be: ranges each rig is drawn from."""
    distance: PositiveRange
    height: PositiveRange
    vertical_fov_deg: PositiveRange
    resolution_scale: PositiveRange
    yaw_jitter_deg: NonNeg
    look_at_jitter: NonNeg


class CameraVary(CameraRanges):
    enabled: bool


class ArenaCameras(Section):
    distance: Positive
    height: Positive
    yaw_offset_deg: float
    look_at: Vector3
    vertical_fov_deg: Positive
    vary: CameraVary
    near: Positive
    far: Positive


class Sensor(Section):
    exposure_jitter: NonNeg
    read_noise: NonNeg
    shot_noise: NonNeg


class Lighting(Section):
    direction: Vector3
    direction_jitter: NonNeg
    ambient: NonNeg
    diffuse: NonNeg
    specular: NonNeg
    intensity_jitter: NonNeg
    shadow: bool


class ObjectSizes(Section):
    mode: Literal["gripper", "real", "mixed"]
    levels: Annotated[int, Field(ge=2)]
    fill: UnitPositive
    spacing: NonNeg


class ArenaObjects(Section):
    meshes: bool
    procedural_per_family: Annotated[list[NonNegInt], Field(min_length=8, max_length=8)]
    pybullet_data: NonNegInt
    random_urdf_scale: PositiveRange
    footprint: PositiveRange
    height: PositiveRange
    mass: PositiveRange
    max_short_side: Positive
    sizes: ObjectSizes
    texture_size: Count


class SurfaceAssets(Section):
    packages: list[str]
    exclude: list[str]
    sweethome3d_jar: str
    texture_px: Count
    min_px: Count
    min_std: NonNeg
    duplicate_correlation: Unit
    duplicate_colour: NonNeg


class Vhacd(Section):
    resolution: Count
    concavity: NonNeg
    max_vertices_per_hull: Count
    depth: Count
    min_volume_per_hull: NonNeg


class MeshAssets(Section):
    sweethome3d_dir: str
    robosuite: bool
    catalog_max_cm: Positive
    exclude: list[str]
    real_long_side: PositiveRange
    long_side: PositiveRange
    max_height: Positive
    max_short_side: Positive
    min_thickness: NonNeg
    face_budget: Count
    max_faces: Count
    texture_max_px: Count
    density: Positive
    mass: PositiveRange
    mass_real: PositiveRange
    vhacd: Vhacd


class RenderCheck(Section):
    px: Count
    min_pixels: NonNegInt
    min_std: NonNeg
    max_white_fraction: Unit


class Assets(Section):
    cache_dir: str
    surfaces: SurfaceAssets
    meshes: MeshAssets
    render_check: RenderCheck


class Arena(Section):
    image_width: Count
    image_height: Count
    num_cameras: Count
    render_processes: Count
    render_timeout: Positive
    objects_per_scene: CountRange
    reset_every: Count
    background_every: Count
    splits: ArenaSplits
    library_seed: int
    physics_hz: Count
    solver_iterations: Count
    gravity: float
    settle_seconds: NonNeg
    settle_max_seconds: NonNeg
    settle_speed: Positive
    workspace: Rectangle
    drop_margin: NonNeg
    drop_height: NonNegRange
    table_size: Positive
    table_texture_metres: Positive
    backgrounds: ArenaBackgrounds
    background_size: Count
    friction: Friction
    cameras: ArenaCameras
    sensor: Sensor
    lighting: Lighting
    objects: ArenaObjects
    assets: Assets
    user_objects: list[str]
    user_object_split: Split
    user_object_scale: Positive
    user_object_up: Literal["y", "z"]
    user_backgrounds: list[str]
    user_background_split: Split
    min_background_px: Count
    eval_images_per_background: dict[Split, Count]
    eval_min_area: NonNegInt


# ------------------------------------------------------------------ robot
class Finger(Section):
    length: Positive
    thickness: Positive
    depth: Positive
    force: Positive
    max_velocity: Positive


class Palm(Section):
    size: Vector3
    mass: Positive


class CommandLimits(Section):
    max_tip_height: Positive
    max_seconds: Positive


class SimRobot(Section):
    jaw_open: Positive
    finger: Finger
    palm: Palm
    constraint_force: Positive
    travel_height: Positive
    grasp_height: NonNeg
    sweep_height: NonNeg
    held_position: Vector3
    home_position: Vector3
    place_clearance: NonNeg
    speed: Positive
    free_speed: Positive
    min_move_seconds: Positive
    close_seconds: Positive
    open_seconds: NonNeg
    held_settle_seconds: NonNeg
    min_grip_width: NonNeg
    sweep_points: Count
    command_limits: CommandLimits


class Sawyer(Section):
    limb: str
    tip_name: str
    hover_distance: Positive
    table_z: float
    grasp_z_offset: float
    place_clearance: NonNeg
    gripper_closed: NonNeg
    gripper_open: Positive
    min_grip_width: NonNeg
    move_timeout: Positive
    joint_speed: UnitPositive
    home_joints: Annotated[list[float], Field(min_length=7, max_length=7)]
    held_pose: Vector3
    orientation: Annotated[list[float], Field(min_length=4, max_length=4)]   # x y z w
    workspace: Rectangle
    sweep_points: Count


class Robot(Section):
    sim: SimRobot
    sawyer: Sawyer


class Cameras(Section):
    sync_slop: Positive
    capture_timeout: Positive
    info_timeout: Positive


# ------------------------------------------------------------------ labelling
class CrossView(Section):
    enabled: bool
    min_views: Annotated[int, Field(ge=2)]
    max_reach_ratio: Annotated[float, Field(gt=1)]
    reach_percentile: Annotated[float, Field(gt=0, le=100)]


class Labeling(Section):
    window: Count
    window_growth: NonNegInt
    px_per_m_range: PositiveRange
    min_pixels: NonNegInt
    denoise_sigma: NonNeg
    log_offset: NonNeg
    illumination_scale: Count
    illumination_kernel_px: Count
    saturation_level: Annotated[int, Field(ge=0, le=255)]
    chroma_threshold: NonNeg
    luminance_threshold: NonNeg
    texture_threshold: NonNeg
    texture_sigma: NonNeg
    hysteresis_low: UnitPositive
    open_px: NonNegInt
    close_px: NonNegInt
    pick_radius_px: NonNeg
    pair1_negatives: bool
    use_gripper: Literal["none", "negatives", "both"]
    cross_view: CrossView
    quality_changed_iou: Unit
    quality_merge_fraction: Unit


class Passive(Section):
    blocks: Count
    pushes_per_block: Count
    push_length: PositiveRange
    min_pixels: NonNegInt
    max_area_fraction: UnitPositive
    min_moved_fraction: Unit


class Grasping(Section):
    min_pixels: NonNegInt
    max_width: Positive


# ------------------------------------------------------------------ network and inference
class RefineHead(Section):
    enabled: bool
    skip_channels: Count
    channels: Count
    layers: Count


class Model(Section):
    trunk_width: Annotated[int, Field(ge=4)]
    window: Annotated[int, Field(ge=16, multiple_of=16)]
    mask_size: Count
    reduce_channels: Count
    embedding_dim: Count
    score_hidden: Count
    pad_mode: Literal["constant", "reflect"]
    pixel_mean: Vector3
    pixel_std: Annotated[list[Positive], Field(min_length=3, max_length=3)]
    object_fraction: UnitPositive
    refine_head: RefineHead


class Refine(Section):
    enabled: bool
    felzenszwalb_scale: Positive
    felzenszwalb_sigma: NonNeg
    felzenszwalb_min_size: NonNegInt
    min_coverage: Unit


class Inference(Section):
    min_object_px: Positive
    max_object_fraction: UnitPositive
    scale_step_log2: Positive
    max_levels: NonNegInt
    pad_fraction: NonNeg
    mask_top_k: Count
    score_threshold: Unit
    mask_threshold: Unit
    nms_iou: Unit
    min_mask_pixels: NonNegInt
    max_hypotheses: Count
    workers: Count
    channels_last: bool
    fold_batchnorm: bool
    precision: Precision
    max_image_pixels: Count
    refine: Refine


class Stream(Section):
    max_pixels: Count
    max_hypotheses: Count
    min_score: Unit


class Rsl(Section):
    iou_threshold: UnitPositive
    enabled: bool
    clean_sources: list[Literal["interaction", "passive", "ground_truth"]]
    paper_step: Positive
    paper_mask_size: Count


# ------------------------------------------------------------------ training
def _lr_schedule(steps: list) -> list:
    """[[from (an integer: a step or an example count, training.lr_clock), lr (> 0)], ...],
    the starts increasing from 0 on."""
    last = -1
    for i, (start, lr) in enumerate(steps):
        if isinstance(start, bool) or not isinstance(start, int):
            raise ValueError(f"entry {i}: the start must be an integer, got {start!r}")
        if start <= last:
            raise ValueError(f"entry {i}: starts must begin at >= 0 and increase, got {start} after {last}")
        if not lr > 0:
            raise ValueError(f"entry {i}: the learning rate must be > 0, got {lr}")
        last = start
    return steps




class Ema(Section):
    enabled: bool
    decay: Unit


class Replay(Section):
    interaction: NonNeg
    passive: NonNeg


class Training(Section):
    batch_size: Count
    lr_steps: Annotated[list[Annotated[list[Union[int, float]], Field(min_length=2, max_length=2)]],
                        Field(min_length=1), AfterValidator(_lr_schedule)]    # [from, lr]
    lr_clock: Literal["steps", "examples"]      # what lr_steps' first column counts
    momentum: Unit
    weight_decay: NonNeg
    grad_clip: Positive
    ema: Ema
    mask_loss_weight: NonNeg
    score_loss_weight: NonNeg
    alternate_heads: bool
    positive_shift_px: NonNeg
    positive_scale_log2: NonNeg
    negative_shift_px: NonNegRange
    negative_scale_log2: NonNegRange
    random_negative_fraction: Unit
    hard_negative_fraction: Unit
    shifted_negative_fraction: Unit
    flip_horizontal: bool
    flip_vertical: bool
    reference_window: Count
    max_sampling_tries: Count
    log_every: Count
    update_every: Count
    steps_per_update: Count
    replay: Replay
    pretrain_steps: NonNegInt
    poll_hz: Positive
    full_checkpoints: NonNegInt
    precision: Precision
    example_cache_mb: NonNegInt


class Adapt(Section):
    """What changes when a run starts from a model (init:=FILE) instead of a bootstrap."""
    lr: Positive                     # learning rate throughout, instead of training.lr_steps
    explore_fraction: Unit           # share of interactions trying a proposal the model misses
    explore_max_overlap: Unit        # IoU with a hypothesis above which a proposal is not missed


class Store(Section):
    fsync: bool
    busy_timeout_ms: NonNegInt
    png_compression: Annotated[int, Field(ge=0, le=9)]


# ------------------------------------------------------------------ nodes and the loop
class Record(Section):
    format: Literal["png", "jpeg"]
    jpeg_quality: Annotated[int, Field(ge=1, le=100)]
    min_free_mb: NonNeg


class Ros(Section):
    viz_limit: NonNegInt
    record: Record


class Loop(Section):
    camera: Union[Literal["random"], NonNegInt]
    choice: Literal["random", "uncertain"]
    place_margin: NonNeg
    explore_when_empty: bool
    reuse_after_shot: bool
    step_timeout: Positive
    drain_timeout: NonNeg
    resend_after: Positive
    retry_after: NonNeg
    drain_poll: Positive


# ------------------------------------------------------------------ rearrangement
class Appearance(Section):
    colour_bins: Annotated[list[Count], Field(min_length=3, max_length=3)]
    colour_smoothing: NonNeg
    colour_weight: NonNeg
    area_weight: NonNeg
    elongation_weight: NonNeg


class Trunk(Section):
    scale: Positive


class Rearrangement(Section):
    tolerance_px: Positive
    max_interactions: Count
    max_attempts_per_object: Count
    descriptor: Literal["appearance", "trunk"]
    rejection_threshold: dict[Literal["appearance", "trunk"], NonNeg]
    max_segments: Count
    min_score: Unit
    min_segment_pixels: NonNegInt
    max_segment_fraction: UnitPositive
    grasp_plane_height: float
    workspace_slack: NonNeg
    appearance: Appearance
    trunk: Trunk
    timeout: Positive


# ------------------------------------------------------------------ evaluation
class BottomUpTuned(Section):
    max_area_fraction: UnitPositive
    max_edge_pixels: NonNegInt


class BottomUp(Section):
    felzenszwalb_scales: Annotated[list[Positive], Field(min_length=1)]
    felzenszwalb_sigma: NonNeg
    felzenszwalb_min_size: NonNegInt
    colour_bins: Count
    min_area: NonNegInt
    nms_iou: Unit
    max_proposals: Count
    contrast_scale: Positive
    compactness_power: NonNeg
    tuned: BottomUpTuned


class OutOfArenaSurfaces(Section):
    package: str
    include: list[str]


class OutOfArena(Section):
    images: Count
    seed: int
    object_split: Split
    surfaces: OutOfArenaSurfaces
    cameras: CameraRanges
    bottom_up_max_area_fraction: UnitPositive


class Report(Section):
    jobs: Count
    untrained_model: bool
    qualitative_rows: Count
    qualitative_top_k: Count
    qualitative_min_score: Unit
    dpi: Count


class OverlapBoundary(Section):
    min_score: Unit
    bound_th: Positive
    f_threshold: Unit


class Progress(Section):
    images: Count
    every_s: Positive
    nice: Annotated[int, Field(ge=0, le=19)]


class Evaluation(Section):
    iou_thresholds: Annotated[list[UnitPositive], Field(min_length=1)]
    max_detections: Count
    coco_max_dets: Annotated[list[Count], Field(min_length=1)]
    recall_iou_threshold: UnitPositive
    recall_precision_levels: list[Unit]
    bottom_up: BottomUp
    overlap_boundary: OverlapBoundary
    standard_arena: dict[str, Any]          # dotted arena overrides of the val/test sets
    size_bins: dict[str, NonNegRange]       # COCO-style areas (frame px), iterated by name
    out_of_arena: OutOfArena
    report: Report
    progress: Progress


# ------------------------------------------------------------------ the whole
class Config(Section):
    preset: str                             # the preset's name (or file), set by the loader
    seed: int
    device: Annotated[str, Field(pattern=r"^(cpu|cuda(:\d+)?)$")]
    torch_threads: NonNegInt
    arena: Arena
    robot: Robot
    cameras: Cameras
    labeling: Labeling
    passive: Passive
    grasping: Grasping
    model: Model
    inference: Inference
    stream: Stream
    rsl: Rsl
    training: Training
    adapt: Adapt
    store: Store
    ros: Ros
    loop: Loop
    rearrangement: Rearrangement
    evaluation: Evaluation
