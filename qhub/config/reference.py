"""The "Every setting" reference of docs/configuration.md, generated from the schema.

One source of truth: the tables are rebuilt from :mod:`qhub.config.schema` (defaults,
limits, help), and a test checks the page holds exactly this text. Regenerate with
``python -m qhub.config.reference``.
"""

from __future__ import annotations

from dataclasses import MISSING, fields

from qhub.config.loader import describe_field
from qhub.config.schema import SECTIONS


def _default(f: object) -> str:
    value = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[attr-defined]
    return f"`{value!r}`"


def settings_reference() -> str:
    """Markdown tables of every setting, one section per table."""
    out: list[str] = []
    for section, cls in SECTIONS.items():
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        out += [f"### `{section}`", "", doc, ""]
        out += ["| key | default | allowed | what it does |", "|---|---|---|---|"]
        for f in fields(cls):
            key = f"{section}.{f.name}"
            env = f"QHUB_{section}_{f.name}".upper()
            allowed = describe_field(cls, f.name)
            out.append(
                f"| `{key}` | {_default(f)} | {allowed} | {f.metadata['help']} (`{env}`) |"
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(settings_reference(), end="")
