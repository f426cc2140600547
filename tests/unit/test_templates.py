"""Agenda templates by name or path; a bad one is reported with its file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from planerka_sync.errors import ConfigError
from planerka_sync.templates import agenda_template, builtin_dir


def test_the_builtin_template_ships_with_the_package() -> None:
    template = agenda_template("marketing-kpi")
    assert template.id == "marketing-kpi"
    assert sum(s.kind == "kpi" for s in template.sections) == 10


def test_a_path_is_read_relative_to_the_config_folder(tmp_path: Path) -> None:
    data = yaml.safe_load((builtin_dir() / "agendas" / "marketing-kpi.yaml").read_text("utf-8"))
    data["id"] = "ours"
    (tmp_path / "agendas").mkdir()
    (tmp_path / "agendas" / "ours.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    assert agenda_template("agendas/ours.yaml", tmp_path).id == "ours"


def test_a_bad_field_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nsections:\n  - {key: a, kind: kpi, title: T, minutes: soon}\n")
    with pytest.raises(ConfigError) as err:
        agenda_template(str(path))
    assert err.value.problems == [f"{path}: sections.0.minutes: Input should be a valid "
                                  "integer, unable to parse string as an integer"]


def test_an_unknown_builtin_lists_the_ones_there_are() -> None:
    with pytest.raises(ConfigError) as err:
        agenda_template("sales")
    assert "'sales'" in err.value.problems[0] and "marketing-kpi" in err.value.problems[0]
