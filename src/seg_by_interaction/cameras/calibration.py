"""Per-camera pixel -> robot-base-plane homographies for a real rig.

A real table is calibrated by point pairs: pixels (u, v) clicked or detected in a
camera image and the same points' (x, y) in the robot base frame (e.g. touched with
the gripper tip). ``cv2.findHomography`` fits the plane map; the YAML file keeps
one homography per camera, and ``load_calibration`` turns it into CameraModels
whose ``pixel_to_plane`` gives base-frame coordinates directly.

    python -m seg_by_interaction.cameras.calibration fit points.csv -o calib.yaml

points.csv columns: camera,u,v,x,y (header line required).
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import cv2
import numpy as np
import yaml

from seg_by_interaction.types import CameraModel


def fit_homography(pixels, base_xy, ransac_threshold: float | None = None) -> tuple[np.ndarray, float]:
    """Pixel [N,2] -> base plane [N,2] homography and its RMS error (metres)."""
    px = np.asarray(pixels, np.float64).reshape(-1, 2)
    xy = np.asarray(base_xy, np.float64).reshape(-1, 2)
    if len(px) != len(xy):
        raise ValueError(f"{len(px)} pixels but {len(xy)} base points")
    if len(px) < 4:
        raise ValueError(f"a homography needs at least 4 point pairs, got {len(px)}")
    if not (np.isfinite(px).all() and np.isfinite(xy).all()):
        raise ValueError("point pairs contain NaN or infinity")
    method = cv2.RANSAC if ransac_threshold else 0
    H, _ = cv2.findHomography(px, xy, method, ransac_threshold or 3.0)
    if H is None:
        raise ValueError("cannot fit a homography: points are degenerate (collinear?)")
    proj = cv2.perspectiveTransform(px[None], H)[0]
    return H, float(np.sqrt(np.mean(np.sum((proj - xy) ** 2, 1))))


def save_calibration(path, homographies: dict[int, np.ndarray], width: int, height: int,
                     errors: dict[int, float] | None = None) -> None:
    cams = []
    for cid in sorted(homographies):
        entry = {"id": int(cid), "width": int(width), "height": int(height),
                 "pixel_to_base": np.asarray(homographies[cid], float).tolist()}
        if errors and cid in errors:
            entry["rms_error_m"] = float(errors[cid])
        cams.append(entry)
    Path(path).write_text(yaml.safe_dump({"cameras": cams}, sort_keys=False))


def load_calibration(path) -> list[CameraModel]:
    """CameraModels (index = camera id) mapping pixels <-> robot-base plane."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"calibration file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text())
        cams = sorted(data["cameras"], key=lambda c: int(c["id"]))
        ids = [int(c["id"]) for c in cams]
        if ids != list(range(len(ids))):
            raise ValueError(f"camera ids must be 0..N-1, got {ids}")
        return [CameraModel.from_homography(np.linalg.inv(np.asarray(c["pixel_to_base"], float)),
                                            c["width"], c["height"]) for c in cams]
    except (KeyError, TypeError, yaml.YAMLError, np.linalg.LinAlgError) as exc:
        raise ValueError(f"{p}: not a valid calibration file ({exc})") from exc


def read_points(path) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    rows: dict[int, list] = {}
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        need = {"camera", "u", "v", "x", "y"}
        if reader.fieldnames is None or not need <= set(reader.fieldnames):
            raise ValueError(f"{path}: header must contain {sorted(need)}")
        for i, r in enumerate(reader, start=2):
            try:
                rows.setdefault(int(r["camera"]), []).append([float(r[k]) for k in ("u", "v", "x", "y")])
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{i}: bad row {r} ({exc})") from exc
    return {c: (np.array(v)[:, :2], np.array(v)[:, 2:]) for c, v in rows.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m seg_by_interaction.cameras.calibration",
                                 description="Fit per-camera pixel->robot-base homographies.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    fit = sub.add_parser("fit", help="fit from a CSV of camera,u,v,x,y point pairs")
    fit.add_argument("points")
    fit.add_argument("-o", "--output", required=True)
    fit.add_argument("--width", type=int, default=430)
    fit.add_argument("--height", type=int, default=350)
    fit.add_argument("--ransac", type=float, default=None, help="RANSAC threshold in metres")
    args = ap.parse_args(argv)
    try:
        pts = read_points(args.points)
        Hs, errs = {}, {}
        for cid, (px, xy) in sorted(pts.items()):
            Hs[cid], errs[cid] = fit_homography(px, xy, args.ransac)
            print(f"camera {cid}: {len(px)} points, rms {errs[cid] * 1000:.2f} mm")
        save_calibration(args.output, Hs, args.width, args.height, errs)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
