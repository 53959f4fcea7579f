"""Turn an image file into the inline YAML `rosservice call` takes for a Segment request.

    rosservice call /robot0/segment "$(rosrun seg_by_interaction image_to_yaml photo.png)"

The request's other fields (camera -1 = use this image, limits) are included, so the
output is a complete request. Only for small images: Linux caps one command-line argument
at 128 KiB (about 150x100 pixels of YAML); for real photos use
`rosrun seg_by_interaction segment_image photo.jpg`, which sends the image itself.
"""
from __future__ import annotations

import argparse
import sys

import cv2
import numpy as np


def image_request_yaml(image_rgb: np.ndarray, max_hypotheses: int = 0,
                       min_score: float = 0.0) -> str:
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image, got {image_rgb.dtype} {image_rgb.shape}")
    h, w = image_rgb.shape[:2]
    data = ",".join(map(str, np.ascontiguousarray(image_rgb).ravel().tolist()))
    return (f"{{image: {{height: {h}, width: {w}, encoding: 'rgb8', is_bigendian: 0, "
            f"step: {w * 3}, data: [{data}]}}, camera: -1, max_hypotheses: {int(max_hypotheses)}, "
            f"min_score: {float(min_score)}}}")


ARG_MAX = 128 * 1024      # Linux's limit for one argument (MAX_ARG_STRLEN)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", help="PNG/JPEG file")
    parser.add_argument("--max-hypotheses", type=int, default=0)
    parser.add_argument("--min-score", type=float, default=0.0)
    args = parser.parse_args(argv)
    bgr = cv2.imread(args.image, cv2.IMREAD_COLOR)
    if bgr is None:
        print(f"error: cannot read an image from '{args.image}'", file=sys.stderr)
        return 2
    text = image_request_yaml(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), args.max_hypotheses,
                              args.min_score)
    if len(text.encode()) >= ARG_MAX:
        print(f"error: {args.image} ({bgr.shape[1]}x{bgr.shape[0]}) makes {len(text) // 1024} KiB "
              "of YAML, more than one command-line argument may hold (128 KiB): use "
              f"`rosrun seg_by_interaction segment_image {args.image}` instead", file=sys.stderr)
        return 2
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
