"""qhub configuration: typed, validated, layered.

Precedence, lowest first: defaults < ``[tool.qhub]`` in pyproject.toml < ``qhub.json`` <
``qhub.yaml`` < environment variables (reference names, then ``QHUB_*``) < behave userdata
(``-D qhub.<section>.<key>=<value>``) < overrides passed in code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, field, fields
from pathlib import Path
from typing import Any

from qhub._record import frozen_record
from qhub._redact import is_secret_name, remember_secret, remember_url_secrets
from qhub._warn import warn
from qhub.config.loader import known_keys, merge
from qhub.config.schema import SECTIONS as SECTION_CLASSES
from qhub.config.schema import (
    ApiSettings,
    CacheSettings,
    DataSettings,
    ImportSettings,
    ProfilingSettings,
    RedisSettings,
    ReportSettings,
    StressSettings,
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

SECTION_NAMES = frozenset(SECTION_CLASSES)

__all__ = [
    "ApiSettings",
    "CacheSettings",
    "DataSettings",
    "ImportSettings",
    "ProfilingSettings",
    "QHubConfig",
    "RedisSettings",
    "ReportSettings",
    "StressSettings",
    "find_root",
    "known_keys",
    "load_config",
]


@frozen_record(slots=False)
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
    stress: StressSettings = field(default_factory=StressSettings)
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

    def from_unprefixed_env(self) -> dict[str, str]:
        """Setting -> the unprefixed environment variable it came from (``REDIS_URL``...).

        Such variables are often another tool's; doctor and the run summary name them.
        """
        marker = "environment variable "
        return {
            key: origin[len(marker) :]
            for key, origin in sorted(self.origins.items())
            if origin.startswith(marker) and not origin[len(marker) :].startswith("QHUB_")
        }

    def unprefixed_summary(self) -> str:
        """``redis.url from REDIS_URL, ...`` for :meth:`from_unprefixed_env` (``""`` when
        none): the one wording doctor and the run summary use."""
        return ", ".join(f"{key} from {var}" for key, var in self.from_unprefixed_env().items())

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
        if not path.exists():
            raise ConfigError(
                f"config file {path} (from QHUB_CONFIG or config_file) does not exist"
            )
        files.append(path)
    else:
        for name in CONFIG_FILES:
            candidate = base / name
            if candidate.exists():  # a FIFO or folder by that name is an error, not skipped
                files.append(candidate)
    entries: list[Entry] = []
    for path in files:
        entries.extend(read_file(path))
    env_entries, env_warnings = read_env(env)
    entries.extend(env_entries)
    entries.extend(read_userdata(userdata or {}))
    entries.extend(read_overrides(overrides or {}))
    merged = merge(entries)
    for message in (*env_warnings, *merged.ignored):
        warn(message, once=message)
    config = QHubConfig(
        **merged.sections,
        apis=merged.apis,
        root=base,
        origins=merged.origins,
        files=tuple(files),
    )
    _remember_secrets(config)
    return config


def _remember_secrets(config: QHubConfig) -> None:
    """Register every secret the configuration holds, so nothing qhub writes shows it."""
    sections: list[Any] = [
        getattr(config, f.name) for f in fields(config) if f.name in SECTION_NAMES
    ]
    sections.extend(config.apis.values())
    for section in sections:
        for f in fields(section):
            value = getattr(section, f.name)
            if isinstance(value, str) and "://" in value:
                remember_url_secrets(value)
            if not f.metadata.get("secret") or value is None:
                continue
            if isinstance(value, dict):
                for name, item in value.items():
                    if is_secret_name(str(name)):
                        remember_secret(item)
            else:
                remember_secret(value)
