"""segment_image: segment a photo through a running segmenter's `segment` service.

    rosrun seg_by_interaction segment_image photo.jpg [--service /robot0/segment]
        [--max-hypotheses 5] [--min-score 0.1] [--labels labels.png] [--overlay overlay.png]

`rosservice call` takes the request as one command-line argument, and Linux caps one
argument at 128 KiB: a 605x454 photo is 2.7 MB of YAML. This client reads the file and
sends the image as a message, so any photo the segmenter accepts works. It prints one line
per hypothesis (best first) and can write the label image (16-bit PNG: 0 = background,
k = hypothesis k) and an overlay.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

import cv2


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="segment_image", description=__doc__.splitlines()[0])
    ap.add_argument("image", help="an image file (PNG, JPEG, ...)")
    ap.add_argument("--service", default="/robot0/segment", help="the Segment service")
    ap.add_argument("--max-hypotheses", type=int, default=0, help="0 = the node's default")
    ap.add_argument("--min-score", type=float, default=0.0)
    ap.add_argument("--labels", default=None, help="write the label image here (16-bit PNG)")
    ap.add_argument("--overlay", default=None, help="write an overlay of the masks here")
    ap.add_argument("--timeout", type=float, default=60.0, help="s to wait for the service")
    args = ap.parse_args(argv)
    if not 0 <= args.max_hypotheses <= 65535:
        ap.error("--max-hypotheses must be in 0..65535")
    bgr = cv2.imread(args.image, cv2.IMREAD_COLOR)
    if bgr is None:
        print(f"error: cannot read an image from {args.image!r}", file=sys.stderr)
        return 2
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    import rospy
    from seg_by_interaction.perception.label_image import label_image
    from seg_by_interaction.ros.conversions import msg_to_hypothesis, rgb_to_msg
    from seg_by_interaction.srv import Segment
    rospy.init_node("segment_image", anonymous=True, disable_signals=True)
    try:
        rospy.wait_for_service(args.service, timeout=args.timeout)
        resp = rospy.ServiceProxy(args.service, Segment)(
            image=rgb_to_msg(rgb), camera=-1, max_hypotheses=args.max_hypotheses,
            min_score=args.min_score)
    except rospy.ROSException as exc:
        print(f"error: no service {args.service} after {args.timeout:.0f} s ({exc}); is a "
              "segmenter running (roslaunch seg_by_interaction segmenter.launch)?", file=sys.stderr)
        return 2
    except rospy.ServiceException as exc:
        print(f"error: {args.service} failed: {exc}", file=sys.stderr)
        return 1
    if not resp.success:
        print(f"error: {args.service} refused the image: {resp.message}", file=sys.stderr)
        return 1
    hyps = [msg_to_hypothesis(h) for h in resp.hypotheses.hypotheses]
    print(f"{args.image}: {rgb.shape[1]}x{rgb.shape[0]}, {len(hyps)} hypotheses "
          f"(model v{resp.hypotheses.model_version})")
    for k, (msg, h) in enumerate(zip(resp.hypotheses.hypotheses, hyps), start=1):
        r = msg.roi
        print(f"{k:3d}  score {h.score:.3f}  box x {r.x_offset} y {r.y_offset} w {r.width} "
              f"h {r.height}  {int(h.mask.sum())} px")
    if args.labels:
        if not cv2.imwrite(args.labels, label_image(hyps, rgb.shape[:2])):
            print(f"error: cannot write {args.labels}", file=sys.stderr)
            return 2
    if args.overlay:
        from seg_by_interaction.visualization import overlay_hypotheses
        over = overlay_hypotheses(rgb, hyps, len(hyps))
        if not cv2.imwrite(args.overlay, cv2.cvtColor(over, cv2.COLOR_RGB2BGR)):
            print(f"error: cannot write {args.overlay}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
