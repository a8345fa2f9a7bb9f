"""Labels out as CSV and JSON with Grafana's annotation columns, and back in unchanged."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from app.errors import ExportError
from app.export import LABEL_COLUMNS, read_labels, write_labels
from app.labels import Label, load_taxonomy

SESSION = "d" * 64


@pytest.fixture
def labels() -> list[Label]:
    return [
        Label.by_technician(
            SESSION, 12.345678901234567, 15.5, "voltage_sag_under_load",
            note='pack sagged 40 V, "hard" launch\nsecond line', tags=("launch", "ü-tag"),
            origin_epoch_s=1_740_489_946.623,
        ),
        Label.from_rule(SESSION, 100.0, 160.25, "over_temperature", "module_temp_limit", 0.875),
        Label.by_technician("e" * 64, 0.0, 0.001, "normal_reference"),
    ]  # fmt: skip


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_labels_round_trip(tmp_path, labels, suffix):
    path = tmp_path / f"labels.{suffix}"
    assert write_labels(labels, path, vehicles={SESSION: "WBA1Z51000V123456"}) == 3
    assert read_labels(path) == labels


def test_csv_has_the_grafana_annotation_columns(tmp_path, labels):
    path = tmp_path / "labels.csv"
    write_labels(labels, path, vehicles={SESSION: "WBA1Z51000V123456"}, taxonomy=load_taxonomy())
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert tuple(rows[0]) == LABEL_COLUMNS
    first = rows[0]
    assert int(first["time"]) == round((1_740_489_946.623 + 12.345678901234567) * 1000)
    assert int(first["timeend"]) == round((1_740_489_946.623 + 15.5) * 1000)
    assert first["text"].startswith("Voltage sag under load: pack sagged 40 V")
    assert first["tags"] == "launch,ü-tag"
    assert (first["class"], first["session"], first["vehicle"]) == (
        "voltage_sag_under_load", SESSION, "WBA1Z51000V123456",
    )  # fmt: skip
    # no wall clock known: the session's own seconds from the epoch
    assert (rows[1]["time"], rows[1]["timeend"]) == ("100000", "160250")
    assert rows[1]["source"] == "rule:module_temp_limit" and rows[1]["status"] == "pending"
    assert rows[2]["vehicle"] == ""


def test_json_tags_are_a_list(tmp_path, labels):
    path = tmp_path / "labels.json"
    write_labels(labels, path)
    records = json.loads(path.read_text(encoding="utf-8"))
    assert records[0]["tags"] == ["launch", "ü-tag"]
    assert set(records[0]) == set(LABEL_COLUMNS)


def test_bad_row_names_file_and_line(tmp_path, labels):
    path = tmp_path / "labels.csv"
    write_labels(labels, path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    # the first label's note (in "text" and "note") spans lines 2-4; the second is line 5
    lines[4] = lines[4].replace(",100.0,160.25,", ",100.0,99.0,")
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ExportError, match=rf"{path}, line 5: not a label: .*before start"):
        read_labels(path)


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "grafana.csv"
    path.write_text("time,timeend,text,tags\n1,2,x,\n", encoding="utf-8")
    with pytest.raises(ExportError, match="line 1: missing columns class, end_s, id"):
        read_labels(path)


def test_unwritable_destination_says_so_and_keeps_the_old_file(tmp_path, labels):
    folder = tmp_path / "read-only"
    folder.mkdir()
    old = folder / "labels.csv"
    old.write_text("earlier export\n", encoding="utf-8")
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: permissions do not stop writes")
        with pytest.raises(ExportError, match=rf"{old}: cannot write the export"):
            write_labels(labels, old)
        assert old.read_text(encoding="utf-8") == "earlier export\n"
        assert sorted(p.name for p in folder.iterdir()) == ["labels.csv"]
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize("where", ["a folder", "/proc"])
def test_a_destination_even_root_cannot_write_is_an_export_error(tmp_path, labels, where):
    if where == "a folder":
        destination = tmp_path / "labels.csv"
        destination.mkdir()  # a folder of that name is in the way
        (destination / "keep.txt").write_text("kept", encoding="utf-8")
    else:
        destination = Path("/proc/self/labels.csv")  # no file can be made there
    with pytest.raises(ExportError, match=rf"{destination}: cannot write the export"):
        write_labels(labels, destination)
    if where == "a folder":
        assert (destination / "keep.txt").read_text(encoding="utf-8") == "kept"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.csv"]


def test_missing_folder_and_unknown_format_are_export_errors(tmp_path, labels):
    with pytest.raises(ExportError, match="does not exist"):
        write_labels(labels, tmp_path / "nowhere" / "labels.csv")
    with pytest.raises(ExportError, match="unknown export format 'xlsx'"):
        write_labels(labels, tmp_path / "labels.xlsx")
