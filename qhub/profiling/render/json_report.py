"""The JSON report: the report document itself (schema ``qhub.profile/1``), indented."""

from __future__ import annotations

from typing import Any

import orjson


def render(report: dict[str, Any]) -> str:
    return orjson.dumps(
        report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str
    ).decode("utf-8")
