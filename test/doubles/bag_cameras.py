#!/usr/bin/env python3
"""Test double of four live camera drivers: replays the shots of a recorded camera bag
(camN/image_raw topics, e.g. recorded from the simulated world) in a loop, each
republished with the current time as live drivers stamp it, on NS/camN/image_raw.

    bag_cameras.py BAG NS [--rate HZ]

`rosbag play` keeps the recorded stamps, which a capture that wants images taken after
its request rightly refuses; a real driver stamps at exposure, and so does this double."""
import argparse
import collections
import re
import sys

import rosbag
import rospy


def shots(path):
    by_stamp = collections.OrderedDict()
    with rosbag.Bag(path) as bag:
        for topic, msg, _ in bag.read_messages():
            m = re.search(r"cam(\d+)/image_raw$", topic)
            if m:
                by_stamp.setdefault(msg.header.stamp.to_nsec(), {})[int(m.group(1))] = msg
    full = [s for s in by_stamp.values() if len(s) == max(len(v) for v in by_stamp.values())]
    if not full:
        sys.exit(f"{path}: no camN/image_raw shots")
    return full


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bag")
    ap.add_argument("ns")
    ap.add_argument("--rate", type=float, default=10.0)
    args = ap.parse_args(rospy.myargv()[1:])
    rospy.init_node("bag_cameras", anonymous=True)
    recorded = shots(args.bag)
    from sensor_msgs.msg import Image
    pubs = {k: rospy.Publisher(f"{args.ns}/cam{k}/image_raw", Image, queue_size=2)
            for k in recorded[0]}
    rate = rospy.Rate(args.rate)
    i = 0
    while not rospy.is_shutdown():
        stamp = rospy.Time.now()
        for k, msg in recorded[i % len(recorded)].items():
            msg.header.stamp = stamp
            pubs[k].publish(msg)
        i += 1
        rate.sleep()


if __name__ == "__main__":
    main()
