"""The label classes: the shipped file, the workshop's own copy, and bad files."""

from __future__ import annotations

import pytest

from app import paths
from app.labels import (
    TaxonomyError,
    load_taxonomy,
    load_taxonomy_or_default,
    shipped_taxonomy_path,
    user_taxonomy_path,
)

ISSUE_CLASSES = {
    "over_temperature", "thermal_runaway_precursor", "cell_imbalance", "cell_voltage_low",
    "cell_voltage_high", "voltage_sag_under_load", "charging_fault", "isolation_fault",
    "sensor_glitch", "stuck_sensor", "capacity_fade", "normal_reference", "other",
}  # fmt: skip


def test_shipped_taxonomy_has_the_issue_classes_with_colours():
    taxonomy = load_taxonomy(shipped_taxonomy_path())
    assert set(taxonomy.keys) == ISSUE_CLASSES
    assert len({c.colour for c in taxonomy}) == len(taxonomy), "two classes share a colour"
    assert taxonomy.get("cell_imbalance").name == "Cell imbalance"


def test_user_copy_overrides_the_shipped_file():
    user = user_taxonomy_path()
    user.parent.mkdir(parents=True)
    user.write_text(
        '[[class]]\nkey = "contactor_weld"\nname = "Contactor weld"\ncolour = "#123456"\n',
        encoding="utf-8",
    )
    taxonomy = load_taxonomy()
    assert taxonomy.keys == ["contactor_weld"]
    assert taxonomy.path == user
    assert user.is_relative_to(paths.config_dir())


def test_unknown_class_keeps_a_grey_stand_in():
    taxonomy = load_taxonomy(shipped_taxonomy_path())
    stand_in = taxonomy.get("bms_reset")
    assert stand_in.key == "bms_reset" and stand_in.name == "Bms reset"
    assert "bms_reset" not in taxonomy


def test_broken_toml_names_file_and_line(tmp_path):
    bad = tmp_path / "label_classes.toml"
    bad.write_text('[[class]]\nkey = "a"\nname = "A\ncolour = "#000000"\n', encoding="utf-8")
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(bad)
    assert caught.value.line == 3
    assert str(caught.value).startswith(f"{bad}, line 3: not valid TOML")


@pytest.mark.parametrize(
    "entries, line, words",
    [
        ('[[class]]\nkey="a"\nname="A"\ncolour="#000000"\n\n[[class]]\nkey="B!"\nname="B"\n'
         'colour="#000000"\n', 6, "expected lower case"),
        ('[[class]]\nkey="a"\nname="A"\ncolour="red"\n', 1, "#rrggbb"),
        ('[[class]]\nkey="a"\nname="A"\ncolour="#000000"\n[[class]]\nkey="a"\nname="A2"\n'
         'colour="#000001"\n', 5, "appears twice"),
        ('[[class]]\nkey="a"\ncolour="#000000"\n', 1, "has no name"),
    ],
)  # fmt: skip
def test_bad_class_entries_name_the_line(tmp_path, entries, line, words):
    bad = tmp_path / "label_classes.toml"
    bad.write_text(entries, encoding="utf-8")
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(bad)
    assert caught.value.line == line
    assert words in str(caught.value) and str(bad) in str(caught.value)


def test_bad_user_copy_falls_back_with_the_reason():
    user = user_taxonomy_path()
    user.parent.mkdir(parents=True)
    user.write_text("[[class]]\nkey = \n", encoding="utf-8")
    taxonomy, problem = load_taxonomy_or_default()
    assert taxonomy.path == shipped_taxonomy_path()
    assert problem is not None and f"{user}, line 2" in problem


def test_empty_file_says_what_is_expected(tmp_path):
    bad = tmp_path / "label_classes.toml"
    bad.write_text("format = 1\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match=r"no label classes"):
        load_taxonomy(bad)
