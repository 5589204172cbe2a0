"""Every knob of an audit, validated against explicit limits before anything runs."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qhub.audit.sources import DEFAULT_MAX_BYTES
from qhub.exceptions import AuditError

if TYPE_CHECKING:
    from qhub.config import QHubConfig


@dataclass
class AuditOptions:
    """Options of :func:`qhub.audit.run_audit`; defaults come from ``config.imports``."""

    root: Path
    """behave's working folder: settings, feature files and the import-time cache live here."""
    heavy_threshold_ms: float = 50.0
    timeout_s: float = 20.0
    python: str | None = None
    select: list[str] | None = None
    ignore: list[str] | None = None
    jobs: int = 0
    """Parallel measuring subprocesses (0: half the cores, at least 1)."""
    repeat: int = 3
    """Each uncached import is timed this many times; the fastest run counts."""
    cache_dir: Path | None = None
    use_cache: bool = True
    target_version: tuple[int, int] | None = None
    min_cost_ms: float = 5.0
    """Lazy candidates and unused imports must cost at least this much to be reported."""
    max_uses: int = 3
    """A lazy candidate is used in at most this many functions."""
    max_bytes: int = DEFAULT_MAX_BYTES
    features: list[Path] | None = None
    check_steps: bool = True
    measure: bool = True
    progress: bool | None = None
    """Progress lines on stderr (None: when stderr is a terminal)."""


_LIMITS: dict[str, tuple[float, float, str]] = {
    "heavy_threshold_ms": (0, 600_000, "--threshold-ms"),
    "timeout_s": (0.1, 3600, "--timeout"),
    "jobs": (0, 256, "--jobs"),
    "repeat": (1, 50, "--repeat"),
    "min_cost_ms": (0, 600_000, "min_cost_ms"),
    "max_uses": (1, 1000, "max_uses"),
    "max_bytes": (1, 256 * 1024 * 1024, "max_bytes"),
}
"""Numeric option -> (lowest, highest, the name users know it by)."""


def validate(opts: AuditOptions) -> AuditOptions:
    """Range-check every numeric option; one-line AuditError naming the option."""
    for name, (low, high, label) in _LIMITS.items():
        value = getattr(opts, name)
        integral = name in ("jobs", "repeat", "max_uses", "max_bytes")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            integral and not isinstance(value, int)
        ):
            raise AuditError(f"{label} must be a number, got {value!r}")
        if math.isnan(value) or not low <= value <= high:
            raise AuditError(f"{label} must be between {low:g} and {high:g}, got {value!r}")
    if opts.target_version is not None:
        major, minor = opts.target_version
        if major != 3 or not 0 <= minor <= 99:
            raise AuditError(f"target version must be 3.X, got {major}.{minor}")
    return opts


def options_from(config: QHubConfig | None, overrides: dict[str, Any]) -> AuditOptions:
    """Merge ``config.imports`` with keyword overrides (unknown keys are an AuditError)."""
    known = {f.name for f in fields(AuditOptions)}
    unknown = set(overrides) - known
    if unknown:
        raise AuditError(f"unknown audit option(s): {', '.join(sorted(unknown))}")
    base: dict[str, Any] = {"root": Path.cwd()}
    if config is not None:
        base.update(
            root=config.root,
            heavy_threshold_ms=config.imports.heavy_threshold_ms,
            timeout_s=config.imports.timeout_s,
        )
    base.update({k: v for k, v in overrides.items() if v is not None})
    opts = AuditOptions(**base)
    opts.root = Path(opts.root).resolve()
    return validate(opts)


def parse_version(text: str | None) -> tuple[int, int] | None:
    """``"3.12"`` -> ``(3, 12)``."""
    if text is None:
        return None
    try:
        major, minor = (int(p) for p in text.strip().split(".")[:2])
    except ValueError:
        raise AuditError(f"--target-version {text!r} is not X.Y (e.g. 3.12)") from None
    return major, minor
