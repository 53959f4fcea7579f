"""Every node class without a master: messages in, messages out, through the same methods
main() wires to ROS (the launch-level tests, test_node_* and test_loop_e2e, run them under
roslaunch). No rospy.init_node here, no roscore: the node logic is plain Python."""
from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from seg_by_interaction.config import load_config
from support.synthetic import blob_examples

SMALL = {"model.trunk_width": 8, "model.window": 64, "model.mask_size": 16,
         "model.embedding_dim": 64, "model.score_hidden": 64, "model.reduce_channels": 32,
         "training.batch_size": 4, "training.update_every": 3, "training.steps_per_update": 2,
         "training.pretrain_steps": 2, "inference.max_levels": 2}


class Sink:
    """What a node publishes to (publish + get_num_connections), kept for the test to read."""

    def __init__(self, listeners: int = 1):
        self.messages, self.listeners = [], listeners

    def publish(self, msg) -> None:
        self.messages.append(msg)

    def get_num_connections(self) -> int:
        return self.listeners


class GoalServer:
    """The part of actionlib's SimpleActionServer a node's execute() uses; records the end."""

    def __init__(self):
        self.feedback, self.ended = [], None

    def publish_feedback(self, fb) -> None:
        self.feedback.append(fb)

    def is_preempt_requested(self) -> bool:
        return False

    def set_succeeded(self, result, text=""):
        self.ended = ("succeeded", result, text)

    def set_aborted(self, result, text=""):
        self.ended = ("aborted", result, text)

    def set_preempted(self, result, text=""):
        self.ended = ("preempted", result, text)


def _store(cfg, root, passive: int, interactions: int):
    from seg_by_interaction.data.store import DatasetStore
    store = DatasetStore(root, cfg)
    exs = blob_examples(np.random.default_rng(0), passive + interactions, height=120, width=140,
                        num_objects=2, size_range=(30, 50))
    for i, ex in enumerate(exs):
        source, iid = ("passive", f"p{i}") if i < passive else ("interaction", f"i{i}")
        store.add_example(ex.image, ex.pick_px, ex.mask, robot_id="robot0", interaction_id=iid,
                          source=source)
    return store


# ------------------------------------------------------------------ trainer
def test_trainer_node_pretrains_updates_when_enough_arrived_and_trains_now(tmp_path):
    from seg_by_interaction.ros.nodes.trainer import TrainerNode
    from seg_by_interaction.training.online import OnlineTrainer
    cfg = load_config(overrides={**SMALL, "training.update_every": 50})
    store = _store(cfg, tmp_path / "run" / "store", passive=3, interactions=2)
    pending = store.count(sources=["interaction"])
    store.close()
    online = OnlineTrainer(cfg, tmp_path / "run")
    announced = []
    node = TrainerNode(online, announced.append)
    assert node.start().version == 1 and [i.version for i in announced] == [1]
    assert 0 < pending < 50 and node.poll() is None     # fewer new examples than update_every
    assert node.train_now() == (True, 2, "updated")      # ... but train_now takes what is there
    assert node.train_now() == (True, 2, "nothing new to train on")
    assert [i.version for i in announced] == [1, 2] and announced[-1].examples_seen == pending
    online.close()


# ------------------------------------------------------------------ checkpoint_announcer
def test_announcer_node_reports_each_verified_checkpoint_once(tmp_path):
    from seg_by_interaction.ros.nodes.checkpoint_announcer import AnnouncerNode
    from seg_by_interaction.training.online import checkpoint_path
    from seg_by_interaction.training.trainer import Trainer
    cfg = load_config(overrides=SMALL)
    trainer = Trainer(cfg)
    got = []
    node = AnnouncerNode(tmp_path, lambda *a: got.append(a))
    assert node.poll() is None
    trainer.save(checkpoint_path(tmp_path, 1), extra={"examples_seen": 5})
    assert node.poll() == 1 and node.poll() is None
    torn = checkpoint_path(tmp_path, 2)
    trainer.save(torn, extra={"examples_seen": 9})
    good = torn.read_bytes()
    torn.write_bytes(good[:200])                         # still being copied: not announced
    assert node.poll() is None
    torn.write_bytes(good)
    assert node.poll() == 2
    assert got == [(1, str(checkpoint_path(tmp_path, 1)), 5), (2, str(torn), 9)]


# ------------------------------------------------------------------ loop_monitor
def test_loop_monitor_ends_only_when_every_robot_is_done():
    from seg_by_interaction.ros.nodes.loop_monitor import LoopMonitor, robot_names
    assert robot_names("robot0, robot1 robot2") == ["robot0", "robot1", "robot2"]
    with pytest.raises(ValueError):
        LoopMonitor([])
    monitor = LoopMonitor(["robot0", "robot1"])
    monitor.on_done("robot0", True)
    monitor.on_done("robot1", False)
    assert not monitor.finished
    monitor.on_done("robot1", True)
    assert monitor.finished
    lines, ended = [], []

    def no_trainer():
        raise RuntimeError("/trainer/train_now did not come up")
    assert monitor.finish(no_trainer, lambda: ended.append(1) or True, lines.append)
    assert ended == [1] and any("no final model update" in line for line in lines)
    assert monitor.finish(lambda: (7, "updated"), lambda: False, lines.append) is False
    assert "final model: v7 (updated)" in lines


# ------------------------------------------------------------------ the simulated world and robot
@pytest.fixture(scope="module")
def world():
    from seg_by_interaction.sim.arena import Arena
    STANDARD = load_config().evaluation.standard_arena
    from seg_by_interaction.sim.robot import SimRobot
    cfg = load_config(overrides={**SMALL, **STANDARD, "arena.render_processes": 1})
    with Arena(cfg, seed=3, split="train") as arena:
        arena.reset_scene()
        robot = SimRobot(arena)
        robot.home()
        yield cfg, arena, robot


def test_world_node_shoots_commands_and_resets_validated(world):
    from seg_by_interaction.ros.nodes.sim_arena import WorldNode
    from seg_by_interaction.sim.cameras import SimCameraRig
    from seg_by_interaction.srv import GripperCommandRequest as R, ResetArenaRequest
    cfg, arena, robot = world
    shots = []
    node = WorldNode(SimCameraRig(arena), robot.driver, arena, robot, reach=0.8, max_tip_height=1.0,
                     max_seconds=5.0, publish_shot=lambda f, n, t: shots.append((f, n, t)),
                     now=lambda: 12.5)
    resp = node.trigger()
    assert resp.success and resp.stamp == 12.5 and len(shots) == 1
    frames, number, _ = shots[0]
    assert number == 1 and len(frames.images) == cfg.arena.num_cameras
    assert frames.gt_instances is None                    # nobody listens to the ground truth
    tip = node.gripper(R(command=R.TIP))
    assert tip.success and tip.z > 0.5                    # at home, above every camera's view
    for bad in (R(command=R.MOVE, x=float("nan")), R(command=R.MOVE, x=100.0, z=0.1),
                R(command=R.WAIT, seconds=60.0), R(command=99)):
        out = node.gripper(bad)
        assert not out.success and out.message
    assert not node.reset(ResetArenaRequest(background=-7)).success
    assert node.reset(ResetArenaRequest(background=ResetArenaRequest.BACKGROUND_KEEP)).message == "nothing to do"


def test_capture_node_answers_with_frames_or_says_why(world):
    from seg_by_interaction.ros.nodes.camera_capture import CaptureNode
    from seg_by_interaction.sim.cameras import SimCameraRig
    from seg_by_interaction.srv import CaptureFramesRequest
    cfg, arena, _ = world
    published, errors = [], []
    node = CaptureNode(SimCameraRig(arena), "robot7", published.append, errors.append)
    resp = node.handle(CaptureFramesRequest(include_ground_truth=True))
    assert resp.success and resp.frames.robot_id == "robot7"
    assert len(resp.frames.images) == cfg.arena.num_cameras == len(resp.frames.camera_info)
    assert published == [resp.frames]

    class Broken:
        cameras = []

        def capture(self, include_ground_truth=False):
            raise RuntimeError("cam2 silent for 5 s")
    resp = CaptureNode(Broken(), "robot7", published.append, errors.append).handle(CaptureFramesRequest())
    assert not resp.success and "cam2 silent" in resp.message and errors


def test_pick_place_node_refuses_bad_goals_and_places_with_the_held_shot(world):
    from geometry_msgs.msg import Pose2D
    from seg_by_interaction.msg import FrameSet, PickPlaceGoal
    from seg_by_interaction.robot.interface import OUTCOME_INVALID_GOAL, OUTCOME_UNREACHABLE
    from seg_by_interaction.ros.nodes.pick_place_server import PickPlaceNode
    from seg_by_interaction.srv import ResetArenaRequest
    _, arena, robot = world
    held = FrameSet(robot_id="robot0")
    node = PickPlaceNode(robot, lambda: held)
    server = GoalServer()
    node.execute(PickPlaceGoal(pick=Pose2D(5.0, 0, 0), place=Pose2D(0, 0, 0)), server)
    assert server.ended[0] == "aborted" and server.ended[1].outcome == OUTCOME_UNREACHABLE
    node.execute(PickPlaceGoal(pick=Pose2D(0, 0, 1e9), place=Pose2D(0, 0, 0)), server)
    assert server.ended[1].outcome == OUTCOME_INVALID_GOAL and server.feedback == []
    x, y, _ = arena.object_pose(arena.object_ids()[0])
    node.execute(PickPlaceGoal(pick=Pose2D(x, y, 0), place=Pose2D(0.1, 0.1, 0), capture_held=True),
                 server)
    assert server.ended[0] in ("succeeded", "aborted") and server.feedback     # phases reported
    assert server.ended[1].held_frames == held
    assert not node.reset(ResetArenaRequest(new_scene=True)).success         # a real table's rules
    keep = ResetArenaRequest.BACKGROUND_KEEP
    assert node.reset(ResetArenaRequest(sweep=False, background=keep)).message == "nothing to do"


def test_coordinator_node_runs_its_budget_and_drains(world, tmp_path):
    from seg_by_interaction.loop.local_steps import LocalSteps
    from seg_by_interaction.perception.inference import load_segmenter
    from seg_by_interaction.ros.nodes.interaction_coordinator import CoordinatorNode
    cfg, arena, robot = world
    steps = LocalSteps(arena, robot, load_segmenter(None, cfg), cfg)
    sent, lines = [], []
    node = CoordinatorNode(cfg, tmp_path, "robot0", 2, steps, tuple(cfg.arena.workspace),
                           to_message=lambda r: r, publish=sent.append,
                           encode=pickle.dumps, decode=pickle.loads)
    node.run(lambda: False, lines.append)
    assert [r.interaction_id for r in sent] == [0, 1] and len(lines) == 2
    assert lines[0].startswith("[robot0] interaction 0 (1/2): camera")
    assert (tmp_path / "robot0.next_interaction").read_text().strip() == "2"
    assert len(node.outbox) == 2                          # no receipt yet: kept for resending
    node.on_receipt("robot0", 0, failed=False, retry=False)
    node.on_receipt("robot1", 1, failed=False, retry=False)       # another robot's: ignored
    assert node.drain(lambda: False, timeout=0.0) == 1
    node.on_receipt("robot0", 1, failed=False, retry=False)
    assert node.drain(lambda: False, timeout=0.0) == 0
    again = CoordinatorNode(cfg, tmp_path, "robot0", 2, steps, tuple(cfg.arena.workspace),
                            to_message=lambda r: r, publish=sent.append,
                            encode=pickle.dumps, decode=pickle.loads)
    again.run(lambda: False, lines.append)                # a respawn: the budget is spent
    assert len(sent) == 2


# ------------------------------------------------------------------ perception-side nodes
def _image(h=120, w=160):
    img = np.full((h, w, 3), 90, np.uint8)
    img[30:80, 40:100] = (220, 40, 40)
    return img


def test_segmenter_node_segments_refuses_bad_requests_and_keeps_unusable_models_out():
    from seg_by_interaction.msg import FrameSet, ModelUpdate
    from seg_by_interaction.perception.inference import load_segmenter
    from seg_by_interaction.ros.conversions import rgb_to_msg
    from seg_by_interaction.ros.nodes.segmenter import SegmenterNode
    from seg_by_interaction.srv import SegmentRequest
    cfg = load_config(overrides=SMALL)
    loads = []

    def load(path):
        loads.append(path)
        if path == "/no/such.pt":
            raise FileNotFoundError(path)
        return load_segmenter(None, cfg)
    hyps, viz = Sink(), Sink(listeners=0)
    node = SegmenterNode(load, None, default_max_hypotheses=5, viz_limit=3, max_image_pixels=10 ** 5,
                         hypotheses_pub=hyps, viz_pub=viz)
    resp = node.handle(SegmentRequest(image=rgb_to_msg(_image()), camera=-1))
    assert resp.success and len(resp.hypotheses.hypotheses) <= 5 and hyps.messages and not viz.messages
    assert not node.handle(SegmentRequest(camera=2)).success             # no frame set yet
    node.on_frames(FrameSet(images=[rgb_to_msg(_image())]))
    assert "camera 2 does not exist" in node.handle(SegmentRequest(camera=2)).message
    assert node.handle(SegmentRequest(camera=0)).success
    big = rgb_to_msg(np.zeros((400, 400, 3), np.uint8))
    assert "too large" in node.handle(SegmentRequest(image=big, camera=-1)).message
    assert not node.handle(SegmentRequest(image=rgb_to_msg(_image()), camera=-1,
                                          min_score=float("nan"))).success
    assert not node.reload(ModelUpdate(version=3, checkpoint=""))         # names no checkpoint
    assert not node.reload(ModelUpdate(version=3, checkpoint="/no/such.pt")) and node.version == 0
    assert node.reload(ModelUpdate(version=3, checkpoint="/a/model.pt")) and node.version == 3
    assert not node.reload(ModelUpdate(version=2, checkpoint="/a/older.pt"))   # not newer


def test_grasp_planner_node_plans_from_the_request_camera_or_says_what_is_missing():
    import cv2
    from seg_by_interaction.msg import Hypothesis
    from seg_by_interaction.ros.conversions import camera_to_msg, mask_to_msg
    from seg_by_interaction.ros.nodes.grasp_planner import GraspPlannerNode
    from seg_by_interaction.srv import PlanGraspRequest
    from seg_by_interaction.types import CameraModel
    cam = CameraModel(430, 350, K=np.array([[500.0, 0, 215], [0, 500.0, 175], [0, 0, 1]]),
                      R=np.diag([1.0, -1.0, -1.0]), t=np.array([0.0, 0.0, 1.0]))
    mask = np.zeros((350, 430), np.uint8)
    cv2.ellipse(mask, (250, 150), (60, 15), 0, 0, 360, 1, -1)
    node = GraspPlannerNode(min_pixels=20, max_width=0.15)
    hyp = Hypothesis(id=4, camera=1, mask=mask_to_msg(mask > 0))
    missing = node.handle(PlanGraspRequest(hypothesis=hyp))
    assert not missing.success and "camera 1" in missing.message
    node.on_info(camera_to_msg(cam), 1)
    resp = node.handle(PlanGraspRequest(hypothesis=hyp))
    assert resp.success and resp.grasp.angle == pytest.approx(math.pi / 2, abs=0.05)
    own = node.handle(PlanGraspRequest(hypothesis=Hypothesis(id=4, camera=3, mask=mask_to_msg(mask > 0)),
                                       camera_info=camera_to_msg(cam)))
    assert own.success                                   # the request's camera model is enough
    wide = np.zeros((350, 430), np.uint8)
    wide[100:200, 50:400] = 1
    assert "wide" in node.handle(PlanGraspRequest(hypothesis=Hypothesis(camera=1, mask=mask_to_msg(wide > 0)))).message


def test_labeler_node_refuses_a_bad_record_with_a_failed_receipt(tmp_path):
    from seg_by_interaction.data.store import DatasetStore
    from seg_by_interaction.labeling.labeler import InteractionLabeler
    from seg_by_interaction.msg import Interaction, RecordedInteraction
    from seg_by_interaction.ros.nodes.labeler import LabelerNode
    cfg = load_config(overrides=SMALL)
    store = DatasetStore(tmp_path / "store", cfg)
    receipts, examples = Sink(), Sink()
    node = LabelerNode(InteractionLabeler(store, cfg), examples_pub=examples, receipts_pub=receipts)
    assert not node.handle(Interaction(robot_id="robot0", interaction_id=5))   # no images at all
    (receipt,) = receipts.messages
    assert receipt.failed and not receipt.retry and receipt.interaction_id == 5 and receipt.message
    node.on_recorded(RecordedInteraction(record=Interaction(robot_id="robot0", interaction_id=6)))
    assert receipts.messages[-1].failed and node.refused == 2 and not examples.messages
    assert store.count() == 0
    store.close()


def test_rearrangement_node_aborts_a_goal_without_a_usable_target():
    from sensor_msgs.msg import Image
    from seg_by_interaction.msg import RearrangeGoal
    from seg_by_interaction.ros.conversions import rgb_to_msg
    from seg_by_interaction.ros.nodes.rearrangement_server import RearrangementNode

    class Planner:
        def run(self, *args, **kwargs):
            raise RuntimeError("capture_frames: the world is restarting")
    node, server = RearrangementNode(Planner()), GoalServer()
    node.execute(RearrangeGoal(target=Image()), server)
    assert server.ended[0] == "aborted" and "empty" in server.ended[1].message
    mono = Image(height=2, width=2, encoding="mono8", step=2, data=bytes(4))
    node.execute(RearrangeGoal(target=mono), server)
    assert "not a colour image" in server.ended[1].message
    node.execute(RearrangeGoal(target=rgb_to_msg(_image())), server)
    assert server.ended[0] == "aborted" and "a robot step failed" in server.ended[1].message
