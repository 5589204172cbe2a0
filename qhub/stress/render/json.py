"""The stress report as JSON (``StressResult.as_dict()``; ``kind`` is ``"stress"``)."""

from __future__ import annotations

import json

from qhub.stress.result import StressResult


def render(result: StressResult) -> str:
    return json.dumps(result.as_dict(), indent=2, sort_keys=False, default=str) + "\n"
