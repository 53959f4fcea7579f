"""Action goals in tests, sent as the product's PickPlaceClient sends them (ros/clients.py): a
plain ``actionlib.ActionClient`` with callbacks per goal.

Not SimpleActionClient: it matches each transition and feedback with the goal handle it stores
after ``send_goal`` returns, so whatever a server answers within that moment (a refusal, the
first feedback) can be dropped as "a goal handle that we're not tracking". CI lost both that
way: a bad goal's refusal (wait_for_result then waited out its timeout) and a goal's feedback.
ActionClient registers the goal before publishing it, so nothing of it is lost."""
from __future__ import annotations

import threading
from typing import Callable

import pytest


def action_client(name: str, action_type, timeout: float = 60.0, why: Callable[[], str] = lambda: ""):
    """A connected ActionClient for ``name`` (the test fails, saying ``why()``, if no server
    appears in ``timeout`` seconds)."""
    import actionlib
    import rospy
    client = actionlib.ActionClient(name, action_type)
    if not client.wait_for_server(rospy.Duration(timeout)):
        pytest.fail(f"no action server {name} in {timeout} s. {why()}")
    return client


class Goal:
    """One goal sent: its feedback as it comes, its end awaited with :meth:`wait`."""

    def __init__(self, client, goal):
        import actionlib
        self.feedback: list = []
        self._done = threading.Event()

        def on_transition(handle):
            if handle.get_comm_state() == actionlib.CommState.DONE:
                self._done.set()
        self.handle = client.send_goal(goal, transition_cb=on_transition,
                                       feedback_cb=lambda handle, fb: self.feedback.append(fb))

    def cancel(self) -> None:
        self.handle.cancel()

    def wait(self, timeout: float, why: Callable[[], str] = lambda: ""):
        """(terminal GoalStatus, result) once the goal has ended; the test fails, saying
        ``why()``, if it has not within ``timeout`` seconds."""
        if not self._done.wait(timeout):
            pytest.fail(f"no result in {timeout} s (status {self.handle.get_goal_status()}, "
                        f"feedback {self.feedback}). {why()}")
        return self.handle.get_goal_status(), self.handle.get_result()
