"""qhub configuration: typed, validated, layered.

Precedence, lowest first: defaults < ``[tool.qhub]`` in pyproject.toml < ``qhub.json`` <
``qhub.yaml`` < environment variables (reference names, then ``QHUB_*``) < behave userdata
(``-D qhub.<section>.<key>=<value>``) < overrides passed in code.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from qhub.config.loader import known_keys, merge
from qhub.config.schema import (
    ApiSettings,
    CacheSettings,
    DataSettings,
    ImportSettings,
    ProfilingSettings,
    RedisSettings,
    ReportSettings,
)
from qhub.config.sources import (
    CONFIG_FILES,
    Entry,
    read_env,
    read_file,
    read_overrides,
    read_userdata,
)
from qhub.exceptions import ConfigError

__all__ = [
    "ApiSettings",
    "CacheSettings",
    "DataSettings",
    "ImportSettings",
    "ProfilingSettings",
    "QHubConfig",
    "RedisSettings",
    "ReportSettings",
    "find_root",
    "known_keys",
    "load_config",
]


@dataclass(frozen=True)
class QHubConfig:
    """The resolved configuration: one typed section per subsystem."""

    api: ApiSettings = field(default_factory=ApiSettings)
    apis: dict[str, ApiSettings] = field(default_factory=dict)
    redis: RedisSettings = field(default_factory=RedisSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    data: DataSettings = field(default_factory=DataSettings)
    profiling: ProfilingSettings = field(default_factory=ProfilingSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    imports: ImportSettings = field(default_factory=ImportSettings)
    root: Path = field(default_factory=Path.cwd)
    """Project root: relative paths in settings are resolved against it."""
    origins: dict[str, str] = field(default_factory=dict)
    """Dotted key -> where its value came from (keys left at their default are absent)."""
    files: tuple[Path, ...] = ()
    """Config files that were read."""

    def path(self, value: str | os.PathLike[str]) -> Path:
        """Resolve a path setting against :attr:`root`."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.root / p

    def origin(self, key: str) -> str:
        """Where the value of ``key`` came from (``default`` when nobody set it)."""
        return self.origins.get(key, "default")

    def api_settings(self, name: str | None = None) -> ApiSettings:
        """Settings of the default API (``None``) or of a named one from ``apis.<name>``."""
        if name is None or name == "default":
            return self.api
        try:
            return self.apis[name]
        except KeyError:
            known = ", ".join(sorted(self.apis)) or "none configured"
            raise ConfigError(f"no API named {name!r} in apis.* (known: {known})") from None

    def as_dict(self, redact: bool = True) -> dict[str, Any]:
        """Plain dict of every section; secret settings shown as ``<redacted>`` by default."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "apis":
                out["apis"] = {n: _section_dict(s, redact) for n, s in value.items()}
            elif hasattr(value, "__dataclass_fields__"):
                out[f.name] = _section_dict(value, redact)
        return out


def _section_dict(section: Any, redact: bool) -> dict[str, Any]:
    data = asdict(section)
    if redact:
        for f in fields(section):
            if f.metadata.get("secret") and data[f.name]:
                data[f.name] = (
                    {k: "<redacted>" for k in data[f.name]}
                    if isinstance(data[f.name], dict)
                    else "<redacted>"
                )
    return data


def find_root(start: Path | None = None) -> Path:
    """The nearest folder (from ``start`` upwards) holding a qhub config file, else ``start``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for name in CONFIG_FILES:
            candidate = folder / name
            if candidate.is_file() and (name != "pyproject.toml" or _has_tool_qhub(candidate)):
                return folder
    return here


def _has_tool_qhub(path: Path) -> bool:
    try:
        return "[tool.qhub" in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def load_config(
    root: str | os.PathLike[str] | None = None,
    *,
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    userdata: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> QHubConfig:
    """Resolve qhub's configuration from every layer and validate it.

    Raises :class:`qhub.ConfigError` with one line naming the setting, its origin and what
    is allowed. Unknown ``QHUB_*`` environment variables only warn (other tools may share
    the prefix); unknown keys anywhere else are errors.
    """
    env = os.environ if environ is None else environ
    base = Path(root).resolve() if root is not None else find_root()
    explicit = config_file or env.get("QHUB_CONFIG")
    files: list[Path] = []
    if explicit:
        path = Path(explicit)
        path = path if path.is_absolute() else base / path
        if not path.is_file():
            raise ConfigError(
                f"config file {path} (from QHUB_CONFIG or config_file) does not exist"
            )
        files.append(path)
    else:
        for name in CONFIG_FILES:
            candidate = base / name
            if candidate.is_file():
                files.append(candidate)
    entries: list[Entry] = []
    for path in files:
        entries.extend(read_file(path))
    env_entries, env_warnings = read_env(env)
    entries.extend(env_entries)
    entries.extend(read_userdata(userdata or {}))
    entries.extend(read_overrides(overrides or {}))
    for message in env_warnings:
        warnings.warn(f"qhub: {message}", stacklevel=2)
    sections, named, origins = merge(entries)
    return QHubConfig(**sections, apis=named, root=base, origins=origins, files=tuple(files))
