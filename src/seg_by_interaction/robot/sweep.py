"""Where the paper's reset sweep starts: points spaced on the workspace boundary."""
from __future__ import annotations

import math


def sweep_points(workspace, n: int) -> list[tuple[float, float]]:
    """n directions spaced evenly around the centre, each pushed out to the rectangle's edge."""
    x0, x1, y0, y1 = workspace
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    out = []
    for k in range(n):
        a = 2 * math.pi * k / n
        c, s = math.cos(a), math.sin(a)
        m = max(abs(c), abs(s))
        out.append((cx + rx * c / m, cy + ry * s / m))
    return out
