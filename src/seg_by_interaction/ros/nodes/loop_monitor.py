"""loop_monitor: ends the launch (required="true") once every robot's coordinator reports done.

Coordinators respawn when they crash, so they cannot be `required` themselves; this node
is. When each robot in ~robots has published True on <robot>/loop_done it asks the trainer
for a final update with the last interactions, then ends the launch with SIGINT to its
roslaunch (a clean stop; if it runs under something else, it just exits, and being required
ends the launch).
"""
from __future__ import annotations

from typing import Callable, Iterable, Optional


def robot_names(value) -> list[str]:
    """~robots as a list: a YAML list, or names separated by commas or spaces."""
    if isinstance(value, str):
        return [r for r in value.replace(",", " ").split() if r]
    return [str(r) for r in value]


class LoopMonitor:
    """Which robots have spent their budget; when all have, one last model update and the end."""

    def __init__(self, robots: Iterable[str]):
        self.robots = list(robots)
        if not self.robots:
            raise ValueError("loop_monitor needs at least one robot in ~robots")
        self.done: set[str] = set()

    def on_done(self, robot: str, finished: bool) -> None:
        if finished:
            self.done.add(robot)

    @property
    def finished(self) -> bool:
        return set(self.robots) <= self.done

    def finish(self, train_now: Optional[Callable[[], tuple[int, str]]],
               end_launch: Callable[[], bool], log: Callable[[str], None]) -> bool:
        """The final update (``train_now() -> (version, message)``; failures are logged, not
        fatal) and the end of the launch; True if a launch was told to end."""
        log(f"every robot finished its interaction budget: {', '.join(sorted(self.done))}")
        if train_now is not None:
            try:
                version, message = train_now()
                log(f"final model: v{version} ({message})")
            except Exception as exc:        # no trainer, or it did not answer: end anyway
                log(f"no final model update: {exc}")
        return end_launch()


def main():
    import os

    import rospy
    from std_msgs.msg import Bool

    from seg_by_interaction.processes import end_launch
    from seg_by_interaction.srv import TrainNow

    rospy.init_node("loop_monitor")
    monitor = LoopMonitor(robot_names(rospy.get_param("~robots", ["robot0"])))
    for robot in monitor.robots:
        rospy.Subscriber(f"/{robot}/loop_done", Bool,
                         lambda msg, r=robot: monitor.on_done(r, msg.data))
    rate = rospy.Rate(2)
    while not rospy.is_shutdown() and not monitor.finished:
        rate.sleep()
    if rospy.is_shutdown():
        return
    service = rospy.get_param("~trainer_service", "/trainer/train_now")

    def train_now():
        rospy.wait_for_service(service, timeout=60)
        resp = rospy.ServiceProxy(service, TrainNow)()
        return resp.version, resp.message

    # End the launch as Ctrl-C would (every node stops cleanly, exit status 0), not by dying
    # as a required node: roslaunch prints a red "REQUIRED process has died!" for that.
    if monitor.finish(train_now if service else None, lambda: end_launch(os.getppid()),
                      rospy.loginfo):
        rospy.loginfo("budget spent: ending the launch")
        rospy.spin()
