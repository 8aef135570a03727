"""The effective configuration and where each value came from.

Values are layered: built-in defaults, then ``config.toml`` in the home
directory, then ``RECORDER_<SECTION>_<KEY>`` environment variables, then
command-line overrides. ``config.toml`` is created on first use holding the
researcher's pseudonymous id, which exports carry instead of a real name.
"""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from recorder.errors import ConfigError
from recorder.ids import researcher_id
from recorder.paths import Layout, open_private


@dataclass(frozen=True)
class RecordSettings:
    # Trees the file collector watches.
    watch: tuple[str, ...] = ()
    # Extended regular expressions: a command matching one is never recorded.
    exclude_commands: tuple[str, ...] = ()
    # Paths never opened by the file collector, in gitignore syntax (added to built-ins).
    exclude_paths: tuple[str, ...] = ()
    # A file settles (is compared with its last snapshot) after this long without events.
    debounce_ms: int = 100
    # More changed files than this at once are recorded as one burst summary event.
    burst_files: int = 50
    # Sessions that ended more than this many days ago are deleted (0: keep everything).
    retention_days: int = 0


@dataclass(frozen=True)
class CapsSettings:
    output_bytes: int = 65536
    file_bytes: int = 1048576
    # Spool bytes the daemon ingests per transaction.
    ingest_batch_bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class EpisodeSettings:
    idle_gap_minutes: int = 10


@dataclass(frozen=True)
class ExportSettings:
    # A step's outcome.output holds at most this many characters of the command's output
    # (its head and tail around an "omitted" line when it is longer).
    output_chars: int = 8000


@dataclass(frozen=True)
class RedactionSettings:
    literals: tuple[str, ...] = ()
    rules: tuple[dict[str, Any], ...] = ()  # tables with a name and a pattern


@dataclass(frozen=True)
class Settings:
    """Every setting, typed; one field per ``config.toml`` section."""

    record: RecordSettings = RecordSettings()
    caps: CapsSettings = CapsSettings()
    episodes: EpisodeSettings = EpisodeSettings()
    export: ExportSettings = ExportSettings()
    redaction: RedactionSettings = RedactionSettings()


def _plain(value: Any) -> Any:
    """A setting as config.toml and ``recorder config`` spell it (a tuple is a list)."""
    return list(value) if isinstance(value, tuple) else value


def _as_dict(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        section.name: {
            f.name: _plain(getattr(getattr(settings, section.name), f.name))
            for f in fields(getattr(settings, section.name))
        }
        for section in fields(settings)
    }


def _from_dict(values: dict[str, dict[str, Any]]) -> Settings:
    sections = {
        section.name: replace(
            getattr(Settings(), section.name),
            **{
                key: tuple(value) if isinstance(value, list) else value
                for key, value in values[section.name].items()
            },
        )
        for section in fields(Settings)
    }
    return Settings(**sections)


# The defaults as plain values, section by section, in the order `recorder config` shows them.
DEFAULTS: dict[str, dict[str, Any]] = _as_dict(Settings())

_ENV_PREFIX = "RECORDER_"


@dataclass
class Config:
    researcher_id: str
    values: dict[str, dict[str, Any]]  # plain values, as shown by `recorder config`
    sources: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    settings: Settings = field(init=False)

    def __post_init__(self) -> None:
        self.settings = _from_dict(self.values)

    @property
    def watch(self) -> list[str]:
        return list(self.settings.record.watch)

    @property
    def exclude_commands(self) -> list[str]:
        return list(self.settings.record.exclude_commands)

    @property
    def output_cap(self) -> int:
        return self.settings.caps.output_bytes

    @property
    def file_cap(self) -> int:
        return self.settings.caps.file_bytes

    def override(self, dotted: str, value: Any, source: str = "command line") -> None:
        section, key = dotted.split(".", 1)
        self.values[section][key] = value
        self.sources[dotted] = source
        self.settings = _from_dict(self.values)

    def rows(self) -> list[tuple[str, Any, str]]:
        """(key, value, source) for every setting, for ``recorder config``."""
        out = [("researcher_id", self.researcher_id, self.sources.get("researcher_id", ""))]
        for section, table in self.values.items():
            for key, value in table.items():
                dotted = f"{section}.{key}"
                out.append((dotted, value, self.sources.get(dotted, "default")))
        return out


def load_config(lay: Layout) -> Config:
    """Read the effective configuration, creating config.toml on first use."""
    path = lay.config
    if not path.exists():
        _create_initial(path)
    data = _read_toml(path)
    rid = data.get("researcher_id")
    if not rid:
        rid = researcher_id()
        _write_toml(path, {"researcher_id": rid, **data}, replace=True)
    if not isinstance(rid, str):
        raise ConfigError(f"{path}: researcher_id must be a string")
    config = Config(researcher_id=rid, values=copy.deepcopy(DEFAULTS), path=path)
    config.sources["researcher_id"] = str(path)
    _apply_file(config, data, path)
    _apply_env(config)
    return config


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc


def _create_initial(path: Path) -> None:
    """Create config.toml with a new researcher id, unless another process just did."""
    _write_toml(path, {"researcher_id": researcher_id()}, replace=False)


def _write_toml(path: Path, data: dict[str, Any], replace: bool) -> None:
    import tomli_w

    text = "# recorder configuration; `recorder config` shows every setting.\n" + tomli_w.dumps(
        data
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    if replace:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # atomic create-if-absent: two first runs agree on one id
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def _apply_file(config: Config, data: dict[str, Any], path: Path) -> None:
    for section, table in data.items():
        if section == "researcher_id":
            continue
        if section not in DEFAULTS or not isinstance(table, dict):
            raise ConfigError(f"{path}: unknown section [{section}]")
        for key, value in table.items():
            dotted = f"{section}.{key}"
            if key not in DEFAULTS[section]:
                raise ConfigError(f"{path}: unknown setting {dotted}")
            config.override(dotted, _checked(dotted, value, str(path)), str(path))


def _apply_env(config: Config) -> None:
    for section, table in DEFAULTS.items():
        for key in table:
            name = f"{_ENV_PREFIX}{section}_{key}".upper()
            if name in os.environ:
                raw = os.environ[name]
                default = DEFAULTS[section][key]
                value: Any = raw.split(os.pathsep) if isinstance(default, list) else raw
                dotted = f"{section}.{key}"
                config.override(dotted, _checked(dotted, value, name), f"env {name}")


_REG_EXTENDED, _REG_NOSUB = 1, 8  # glibc's regcomp flags


def _checked(dotted: str, value: Any, where: str) -> Any:
    section, key = dotted.split(".", 1)
    default = DEFAULTS[section][key]
    if isinstance(default, bool):
        return bool(value)
    if isinstance(default, int):
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: {dotted} must be an integer, not {value!r}") from None
        if number < 0:
            raise ConfigError(f"{where}: {dotted} must not be negative")
        return number
    if isinstance(default, list) and not isinstance(value, list):
        raise ConfigError(f"{where}: {dotted} must be a list")
    if dotted == "record.exclude_commands":
        for pattern in value:
            _check_extended_regex(pattern, dotted, where)
    return value


def _check_extended_regex(pattern: Any, dotted: str, where: str) -> None:
    """ConfigError unless ``pattern`` is a POSIX extended regular expression, compiled by
    the C library's ``regcomp``, as the hooks' ``[[ =~ ]]`` will: a pattern the shell cannot
    compile matches nothing there, so the command it should exclude would be recorded."""
    import ctypes
    import ctypes.util

    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(f"{where}: {dotted} holds {pattern!r}, not a regular expression")
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    compiled = ctypes.create_string_buffer(256)  # regex_t is 64 bytes in glibc
    failed = libc.regcomp(compiled, pattern.encode(), _REG_EXTENDED | _REG_NOSUB)
    if failed:
        raise ConfigError(
            f"{where}: {dotted}: {pattern!r} is not a valid extended regular expression"
        )
    libc.regfree(compiled)
