"""The shape of a stress run: users, length, pace, and the multiplier that scales it.

Command-line options win over ``stress.*`` settings (files, ``QHUB_STRESS_*`` variables, and
the reference document's ``STRESS_MULTIPLIER``). The multiplier scales the load: the number
of virtual users (and the target rate, so that each user keeps its pace), or with
``scale = "iterations"`` the iterations each user runs. A run always ends: when neither a
duration nor an iteration count is given, ``stress.duration_s`` applies.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from qhub._record import frozen_record
from qhub.exceptions import StressError

MAX_USERS = 10_000


@frozen_record(slots=False)
class StressPlan:
    """A resolved stress plan (after the multiplier)."""

    users: int
    duration_s: float | None
    iterations: int | None
    ramp_up_s: float
    rate: float | None
    """Iterations per second in total (open model); None: back to back (closed model)."""
    grace_s: float
    multiplier: float
    scale: str
    base_users: int
    base_iterations: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """One line: ``8 users for 30 s, back to back`` / ``... at 20 iterations/s``, then
        the ramp-up and multiplier when there are any."""
        from qhub.profiling.render.stress_view import plan_line

        ramp = f", ramp-up {self.ramp_up_s:g} s" if self.ramp_up_s else ""
        mult = f" (x{self.multiplier:g} {self.scale})" if self.multiplier != 1 else ""
        line = plan_line(self.users, self.duration_s, self.iterations, self.rate)
        return f"{line}{ramp}{mult}"


def resolve_plan(settings: Any, options: dict[str, Any]) -> StressPlan:
    """Merge command-line ``options`` (None = not given) over ``settings``
    (:class:`qhub.config.StressSettings`) and apply the multiplier."""

    def pick(name: str, setting: str | None = None) -> Any:
        value = options.get(name)
        return value if value is not None else getattr(settings, setting or name)

    users = int(pick("users"))
    duration = options.get("duration_s")
    iterations = options.get("iterations")
    if duration is None and iterations is None:
        duration = settings.duration_s
    multiplier = float(pick("multiplier"))
    scale = str(pick("scale"))
    rate = pick("rate")
    base_users, base_iterations = users, iterations
    if multiplier != 1:
        if scale == "users":
            users = max(1, math.ceil(users * multiplier - 1e-9))
            if rate is not None:
                rate = float(rate) * multiplier
        elif iterations is not None:
            iterations = max(1, math.ceil(int(iterations) * multiplier - 1e-9))
        elif duration is not None:
            duration = float(duration) * multiplier
    if users > MAX_USERS:
        raise StressError(
            f"{users} virtual users (after the multiplier x{multiplier:g}) is above the "
            f"limit of {MAX_USERS}"
        )
    return StressPlan(
        users=users,
        duration_s=None if duration is None else float(duration),
        iterations=None if iterations is None else int(iterations),
        ramp_up_s=float(pick("ramp_up_s")),
        rate=None if rate is None else float(rate),
        grace_s=float(pick("grace_s")),
        multiplier=multiplier,
        scale=scale,
        base_users=base_users,
        base_iterations=base_iterations,
    )
