"""numpy/library types <-> the package's ROS messages.

Camera models travel in ``sensor_msgs/CameraInfo`` with ``header.frame_id =
"arena"`` and ``P`` the 3x4 projection of arena-frame points (K [R|t]); a camera
calibrated by a plane homography only has K = 0 and P = [h1 h2 0 h3], which still
maps table points (x, y, 0) exactly. Columns 0, 1, 3 of P are always the plane
homography.
"""
from __future__ import annotations

import numpy as np
from cv_bridge import CvBridge, CvBridgeError
from sensor_msgs.msg import CameraInfo, Image, RegionOfInterest

from seg_by_interaction.types import CameraModel
from seg_by_interaction.types import Frames, Hypothesis

_bridge = CvBridge()
ARENA_FRAME = "arena"
_COLOR_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8")


class ConversionError(ValueError):
    """A message that cannot be turned into what the library expects."""


def rgb_to_msg(image: np.ndarray, header=None) -> Image:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ConversionError(f"expected an RGB uint8 HxWx3 image, got {image.dtype} {image.shape}")
    msg = _bridge.cv2_to_imgmsg(np.ascontiguousarray(image), encoding="rgb8")
    if header is not None:
        msg.header = header
    return msg


def check_image_size(msg: Image, max_pixels: int) -> None:
    """ConversionError when the image's header fields (width x height) exceed
    ``max_pixels``: checked before the data is converted or anything allocated."""
    pixels = int(msg.width) * int(msg.height)
    if pixels > int(max_pixels):
        channels = {"mono8": 1}.get(msg.encoding, 4 if msg.encoding.endswith("a8") else 3)
        raise ConversionError(
            f"image too large: {msg.width}x{msg.height} {msg.encoding or '(no encoding)'} is "
            f"{pixels} pixels ({pixels * channels} bytes), the limit is {int(max_pixels)} "
            f"pixels (inference.max_image_pixels); downscale it before segmenting")


def msg_to_rgb(msg: Image) -> np.ndarray:
    """Any colour (or mono8) image message -> RGB uint8 HxWx3, validated."""
    if msg.height == 0 or msg.width == 0 or len(msg.data) == 0:
        raise ConversionError("empty image")
    if msg.encoding not in _COLOR_ENCODINGS + ("mono8",):
        raise ConversionError(f"unsupported encoding '{msg.encoding}' "
                              f"(use rgb8, bgr8, rgba8, bgra8 or mono8)")
    channels = {"mono8": 1}.get(msg.encoding, 4 if msg.encoding.endswith("a8") else 3)
    if msg.step < msg.width * channels:
        raise ConversionError(f"image step {msg.step} is shorter than a row of "
                              f"{msg.width}x{channels} bytes ({msg.encoding})")
    if len(msg.data) != msg.step * msg.height:
        raise ConversionError(f"image data is {len(msg.data)} bytes, but {msg.width}x{msg.height} "
                              f"{msg.encoding} with step {msg.step} is {msg.step * msg.height}")
    try:
        out = _bridge.imgmsg_to_cv2(msg, desired_encoding="rgb8")
    except CvBridgeError as exc:
        raise ConversionError(f"cannot convert image: {exc}") from exc
    return np.ascontiguousarray(out)


def mask_to_msg(mask: np.ndarray, header=None) -> Image:
    msg = _bridge.cv2_to_imgmsg(np.asarray(mask, dtype=bool).astype(np.uint8) * 255, "mono8")
    if header is not None:
        msg.header = header
    return msg


def msg_to_mask(msg: Image) -> np.ndarray:
    if msg.encoding != "mono8":
        raise ConversionError(f"a mask must be mono8, got '{msg.encoding}'")
    if msg.height == 0 or msg.width == 0:
        raise ConversionError("empty mask")
    if msg.step < msg.width or len(msg.data) != msg.step * msg.height:
        raise ConversionError(f"mask data is {len(msg.data)} bytes, but {msg.width}x{msg.height} "
                              f"mono8 with step {msg.step} is {msg.step * msg.height}")
    return _bridge.imgmsg_to_cv2(msg, desired_encoding="mono8") > 0


def instances_to_msg(instances: np.ndarray) -> Image:
    return _bridge.cv2_to_imgmsg(np.asarray(instances).astype(np.uint16), "mono16")


def msg_to_instances(msg: Image) -> np.ndarray:
    return _bridge.imgmsg_to_cv2(msg, desired_encoding="mono16").astype(np.int32)


def camera_to_msg(camera: CameraModel, header=None) -> CameraInfo:
    info = CameraInfo(width=camera.width, height=camera.height, distortion_model="plumb_bob",
                      D=[0.0] * 5)
    if header is not None:
        info.header.stamp = header.stamp
    info.header.frame_id = ARENA_FRAME
    if camera.has_pose:
        info.K = camera.K.ravel().tolist()
        P = camera.K @ np.column_stack([camera.R, camera.t])
    else:
        info.K = [0.0] * 9
        H = camera.H
        P = np.column_stack([H[:, 0], H[:, 1], np.zeros(3), H[:, 2]])
    info.P = P.ravel().tolist()
    info.R = np.eye(3).ravel().tolist()
    return info


def msg_to_camera(info: CameraInfo) -> CameraModel:
    if info.header.frame_id != ARENA_FRAME:
        raise ConversionError(f"camera_info must be in frame '{ARENA_FRAME}', got "
                              f"'{info.header.frame_id}'")
    P = np.asarray(info.P, dtype=np.float64).reshape(3, 4)
    K = np.asarray(info.K, dtype=np.float64).reshape(3, 3)
    if np.any(K):
        Rt = np.linalg.inv(K) @ P
        return CameraModel(width=info.width, height=info.height, K=K, R=Rt[:, :3], t=Rt[:, 3])
    return CameraModel.from_homography(P[:, [0, 1, 3]], info.width, info.height)


def frames_to_msg(frames: Frames, robot_id: str = "", stamp=None):
    import rospy
    from seg_by_interaction.msg import FrameSet
    msg = FrameSet(robot_id=robot_id)
    msg.header.stamp = stamp if stamp is not None else rospy.Time.from_sec(frames.stamp)
    msg.header.frame_id = ARENA_FRAME
    for cam_id, (image, camera) in enumerate(zip(frames.images, frames.cameras)):
        img = rgb_to_msg(image)
        img.header.stamp = msg.header.stamp
        img.header.frame_id = f"cam{cam_id}"
        msg.images.append(img)
        msg.camera_info.append(camera_to_msg(camera, msg.header))
    if frames.gt_instances is not None:
        msg.gt_instances = [instances_to_msg(g) for g in frames.gt_instances]
    return msg


def msg_to_frames(msg) -> Frames:
    if not msg.images:
        raise ConversionError("frame set holds no images")
    if len(msg.camera_info) != len(msg.images):
        raise ConversionError(f"{len(msg.images)} images but {len(msg.camera_info)} camera_info")
    gt = [msg_to_instances(g) for g in msg.gt_instances] if msg.gt_instances else None
    return Frames(images=[msg_to_rgb(i) for i in msg.images], stamp=msg.header.stamp.to_sec(),
                  cameras=[msg_to_camera(c) for c in msg.camera_info], gt_instances=gt)


def hypothesis_to_msg(hyp: Hypothesis, hyp_id: int, header=None, camera: int = -1):
    from seg_by_interaction.msg import Hypothesis as HypothesisMsg
    x0, y0, x1, y1 = (int(v) for v in hyp.box)
    msg = HypothesisMsg(id=hyp_id, score=float(hyp.score), camera=camera,
                        mask=mask_to_msg(hyp.mask, header),
                        roi=RegionOfInterest(x_offset=x0, y_offset=y0, width=x1 - x0,
                                             height=y1 - y0))
    if header is not None:
        msg.header = header
    return msg


def msg_to_hypothesis(msg) -> Hypothesis:
    mask = msg_to_mask(msg.mask)
    r = msg.roi
    return Hypothesis(mask=mask, score=float(msg.score),
                      box=(r.x_offset, r.y_offset, r.x_offset + r.width, r.y_offset + r.height))


def serialize(msg) -> bytes:
    """Wire bytes of a message (the coordinator's outbox on disk; exact comparisons)."""
    from io import BytesIO
    buf = BytesIO()
    msg.serialize(buf)
    return buf.getvalue()


def model_update_msg(version: int, checkpoint: str, preset: str, examples_seen: int,
                     loss: float = float("nan"), stamp=None):
    """The ModelUpdate every segmenter reloads from (the trainer's and the announcer's)."""
    from seg_by_interaction.msg import ModelUpdate
    msg = ModelUpdate(version=int(version), checkpoint=str(checkpoint), preset=str(preset),
                      examples_seen=int(examples_seen), loss=float(loss))
    if stamp is not None:
        msg.header.stamp = stamp
    return msg
