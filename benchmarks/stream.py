"""Stream mode on one core: does segment_camera keep up with a 2 Hz 640x480 camera?

Usage: .venv/bin/python benchmarks/stream.py [--quick] [--hz 2] [--seconds 30]

Frames arrive on a thread at --hz (as a camera driver's callback would) into the node's
StreamNode (newest frame wins), which segments with the shipped model on one core (one torch
thread, inference.workers 1). Prints frames offered / segmented / dropped, the segmented
rate, p50/p95 latency (arrival -> label image published) and per-frame segmentation time;
the headline is the segmented rate over the camera's rate (1.0 = keeps up).
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))   # test/support

from seg_by_interaction.config import load_config  # noqa: E402
from seg_by_interaction.perception.inference import load_segmenter  # noqa: E402
from seg_by_interaction.perception.shipped import shipped_model  # noqa: E402
from seg_by_interaction.ros.nodes.segment_camera import StreamNode  # noqa: E402
from seg_by_interaction.runtime import apply_runtime  # noqa: E402
from support.synthetic import blob_scene  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--hz", type=float, default=2.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--max-pixels", type=int, default=None, help="stream.max_pixels (default: the preset's)")
    args = ap.parse_args()
    seconds = 8.0 if args.quick else args.seconds
    overrides = {"torch_threads": 1, "inference.workers": 1}
    if args.max_pixels:
        overrides["stream.max_pixels"] = args.max_pixels
    cfg = load_config(overrides=overrides)
    apply_runtime(cfg)
    seg = load_segmenter(str(shipped_model()), cfg)
    from seg_by_interaction.ros.conversions import rgb_to_msg
    rng = np.random.default_rng(0)
    frames = [rgb_to_msg(blob_scene(rng, args.height, args.width, num_objects=5, size_range=(60, 140))[0])
              for _ in range(4)]
    published, latencies, seg_times = [], [], []

    def on_labels(msg):
        published.append(time.monotonic())
    sc = cfg.stream
    node = StreamNode(seg, sc.max_pixels, lambda: (sc.max_hypotheses, sc.min_score), on_labels, lambda m: None)
    real_process = node.process

    def timed(msg, arrived=None):
        t0 = time.monotonic()
        ok = real_process(msg, arrived)
        seg_times.append(time.monotonic() - t0)
        if node.last_latency is not None:
            latencies.append(node.last_latency)
        return ok
    node.process = timed
    stop = threading.Event()
    worker = threading.Thread(target=node.run, args=(stop.is_set,), daemon=True)
    worker.start()
    seg.segment(np.frombuffer(bytes(frames[0].data), np.uint8).reshape(args.height, args.width, 3))  # warm up
    start, k = time.monotonic(), 0
    while time.monotonic() - start < seconds:
        node.offer(frames[k % len(frames)])
        k += 1
        time.sleep(max(0.0, start + k / args.hz - time.monotonic()))
    time.sleep(max(seg_times[-5:] or [1.0]) + 0.5)
    stop.set()
    worker.join(10)
    rate = node.processed / seconds
    print(f"frames_offered: {node.received}")
    print(f"frames_segmented: {node.processed}")
    print(f"frames_dropped_stale: {node.dropped}")
    print(f"camera_hz: {args.hz:.2f}")
    print(f"frame: {args.width}x{args.height}")
    print(f"max_pixels: {cfg.stream.max_pixels}")
    if seg_times:
        print(f"segment_s_p50: {np.percentile(seg_times, 50):.3f}")
    if latencies:
        print(f"latency_s_p50: {np.percentile(latencies, 50):.3f}")
        print(f"latency_s_p95: {np.percentile(latencies, 95):.3f}")
    print(f"segmented_hz: {rate:.2f}")
    print(f"keeps_up_ratio: {rate / args.hz:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
