"""Finding and reading agenda templates: built-in by name, or a YAML file by path."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from planerka_sync.domain.agenda import AgendaTemplate, TemplateError, parse_template
from planerka_sync.domain.kpi import KpiSet, parse_kpi_set
from planerka_sync.errors import ConfigError

T = TypeVar("T")


def builtin_dir() -> Path:
    """The shipped config folder (agendas, KPI sets, the demo config)."""
    return Path(str(resources.files("planerka_sync") / "builtin"))


def agenda_template(name_or_path: str, relative_to: Path | None = None) -> AgendaTemplate:
    """``marketing-kpi`` means the built-in template; anything with a slash or .yaml is a file
    (relative to the config file's folder)."""
    return _load(name_or_path, relative_to, "agendas", "agenda", "template", parse_template)


def kpi_set(name_or_path: str, relative_to: Path | None = None) -> KpiSet:
    """``marketing`` means the built-in KPI set; a path is a YAML file of the same shape."""
    return _load(name_or_path, relative_to, "kpis", "kpis", "KPI set", parse_kpi_set)


def _load(name_or_path: str, relative_to: Path | None, folder: str, option: str, kind: str,
          parse: Callable[[Any, str], T]) -> T:
    """A built-in file by name or a YAML file by path, parsed; every problem a ConfigError."""
    path = _locate(name_or_path, relative_to, folder)
    try:
        data = _read(path)
    except FileNotFoundError:
        builtin = ", ".join(sorted(p.stem for p in (builtin_dir() / folder).glob("*.yaml")))
        raise ConfigError([f"{option} {name_or_path!r}: no such {kind} ({path}); built-in: "
                           f"{builtin}; or give a path to a YAML file"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML: {exc}"]) from None
    try:
        return parse(data, str(path))
    except TemplateError as exc:  # KpiSetError is one too
        raise ConfigError([f"{path}: {problem}" for problem in exc.problems]) from None


def _read(path: Path) -> Any:
    """The parsed YAML, re-read only when the file changes (the daemon asks per series)."""
    return _parsed(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=64)
def _parsed(path: str, _mtime_ns: int) -> Any:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def _locate(name_or_path: str, relative_to: Path | None, folder: str) -> Path:
    if "/" in name_or_path or name_or_path.endswith((".yaml", ".yml")):
        path = Path(name_or_path).expanduser()
        return path if path.is_absolute() or relative_to is None else relative_to / path
    return builtin_dir() / folder / f"{name_or_path}.yaml"
