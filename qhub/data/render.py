"""Turn a resolved template into records, one directive at a time."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from qhub.data._faker import CountingFaker
from qhub.data._text import one_line
from qhub.data.kinds import KINDS, DatasetState, Record
from qhub.data.templates import Template
from qhub.exceptions import DataError


def related_key(target: str, count: int) -> str:
    """Name under which a referenced dataset is handed to the renderer in ``ctx.related``."""
    return f"{target}#{count}"


def render(template: Template, fake: CountingFaker, index: int, ctx: DatasetState) -> Record:
    """Record ``index`` of ``template``: its base kind's record, then each field layer."""
    record: Record = (
        KINDS[template.base](fake, index, ctx) if template.base else {"id": ctx.record_id(index)}
    )
    for layer in template.layers:
        for name, directive in layer.items():
            record[name] = _evaluate(name, directive, fake=fake, index=index, ctx=ctx,
                                     record=record, template=template)
    return record


def _evaluate(
    name: str,
    directive: Mapping[str, Any],
    *,
    fake: CountingFaker,
    index: int,
    ctx: DatasetState,
    record: Record,
    template: Template,
) -> Any:
    if "value" in directive:
        value = directive["value"]
        return copy.deepcopy(value) if isinstance(value, (dict, list)) else value
    if "faker" in directive:
        provider = getattr(fake, directive["faker"])
        try:
            value = to_json(provider(*directive["args"], **directive["kwargs"]))
        except Exception as exc:  # a provider rejecting its arguments at run time
            raise DataError(one_line(f"{template.file}:{template.line}: template '{template.name}' "
                            f"field '{name}': provider '{directive['faker']}' failed: "
                            f"{exc}")) from exc
        return ctx.unique(f"{template.name}.{name}", value, index) if directive["unique"] else value
    if "choice" in directive:
        return copy.deepcopy(fake.random_element(directive["choice"]))
    if "sequence" in directive:
        try:
            return directive["sequence"].format(n=ctx.record_id(index))
        except (ValueError, TypeError) as exc:  # checked at load; kept for hand-made Templates
            raise DataError(one_line(f"{template.file}:{template.line}: template "
                            f"'{template.name}' field '{name}': {exc}")) from None
    if "format" in directive:
        try:
            value = directive["format"].format_map(record)
        except (KeyError, IndexError, AttributeError) as exc:
            raise DataError(one_line(f"{template.file}:{template.line}: template '{template.name}' "
                            f"field '{name}': format needs field {exc}")) from None
        except (ValueError, TypeError) as exc:  # a spec that does not fit a Faker value's type
            raise DataError(one_line(f"{template.file}:{template.line}: template "
                            f"'{template.name}' field '{name}': format cannot apply: "
                            f"{exc}")) from None
        return ctx.unique(f"{template.name}.{name}", value, index) if directive["unique"] else value
    if "ref" in directive:
        rows = ctx.related[related_key(directive["ref"], directive["of"])]
        row = fake.random_element(rows)
        if directive["field"] not in row:
            raise DataError(one_line(f"{template.file}:{template.line}: template '{template.name}' "
                            f"field '{name}': referenced {directive['ref']!r} records have no "
                            f"field {directive['field']!r}"))
        return copy.deepcopy(row[directive["field"]])
    return {
        key: _evaluate(f"{name}.{key}", sub, fake=fake, index=index, ctx=ctx, record=record,
                       template=template)
        for key, sub in directive["object"].items()
    }


def to_json(value: Any) -> Any:
    """A provider's result as JSON-compatible data (dates as ISO text, Decimal as float)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_json(v) for v in value), key=repr)
    return str(value)
