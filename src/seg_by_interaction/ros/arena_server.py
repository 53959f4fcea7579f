"""reset_arena for the simulated arena: the paper's sweep, a new scene, a new background."""
from __future__ import annotations

import threading

import rospy

from seg_by_interaction.srv import ResetArena, ResetArenaRequest, ResetArenaResponse


class ArenaResetServer:
    def __init__(self, arena, robot, lock: threading.RLock):
        self.arena, self.robot, self.lock = arena, robot, lock
        self.service = rospy.Service("reset_arena", ResetArena, self._handle)

    def _handle(self, req) -> ResetArenaResponse:
        if req.background < ResetArenaRequest.BACKGROUND_RANDOM:
            return ResetArenaResponse(success=False,
                                      message=f"background {req.background} does not exist")
        done = []
        try:
            with self.lock:
                if req.new_scene:
                    self.arena.reset_scene()
                    done.append("new scene")
                if req.background == ResetArenaRequest.BACKGROUND_RANDOM:
                    self.arena.set_background(None)
                    done.append("random background")
                elif req.background >= 0:
                    self.arena.set_background(int(req.background))
                    done.append(f"background {req.background}")
                if req.sweep:
                    self.robot.reset_sweep()
                    done.append("sweep")
        except (ValueError, IndexError) as exc:
            return ResetArenaResponse(success=False, message=str(exc))
        return ResetArenaResponse(success=True, message=", ".join(done) or "nothing to do")
