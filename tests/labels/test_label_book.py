"""The label model and its undo/redo history, with the workspace as the sink."""

from __future__ import annotations

import pytest

from app.labels import Label, LabelBook, LabelError, clean_tags
from app.workspace import Workspace

SESSION = "a" * 64


def test_technician_label_orders_its_ends_and_knows_its_wall_clock():
    label = Label.by_technician(
        SESSION, 12.5, 10.0, "cell_imbalance", origin_epoch_s=1_700_000_000.0
    )
    assert (label.start_s, label.end_s, label.duration_s) == (10.0, 12.5, 2.5)
    assert label.start_epoch_s == 1_700_000_010.0 and label.end_epoch_s == 1_700_000_012.5
    assert label.source == "technician" and label.status == "accepted" and label.author
    assert label.version == 1 and label.modified_at == label.created_at


def test_rule_label_waits_for_a_technician():
    label = Label.from_rule(SESSION, 1, 2, "over_temperature", "cell_temperature_limit", 0.83)
    assert label.is_rule and label.status == "pending" and label.confidence == 0.83
    assert label.source == "rule:cell_temperature_limit"


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(start_s=5.0, end_s=4.0), "before start"),
        (dict(start_s=float("nan")), "finite"),
        (dict(status="maybe"), "status"),
        (dict(source="someone"), "source"),
        (dict(source="rule:x", confidence=1.5), "confidence"),
    ],
)
def test_impossible_labels_are_refused(changes, words):
    fields = dict(session=SESSION, start_s=1.0, end_s=2.0, label_class="other") | changes
    with pytest.raises(LabelError, match=words):
        Label(**fields)


def test_tags_are_trimmed_distinct_words_split_at_commas():
    assert clean_tags(["hot ", "pack,  fan", "hot", ""]) == ("hot", "pack", "fan")
    assert Label(SESSION, 0, 1, "other", tags="a, b").tags == ("a", "b")


def test_every_change_undoes_and_redoes_and_reaches_the_workspace():
    workspace = Workspace()
    book = LabelBook(SESSION, sink=workspace)
    events = []
    book.subscribe(lambda kind, label: events.append((kind, label.label_class)))

    label = book.add(Label.by_technician(SESSION, 10.0, 20.0, "cell_imbalance"))
    book.change(label.id, start_s=12.0, end_s=25.0)  # resize
    book.move(label.id, 5.0)
    book.change(label.id, label_class="over_temperature", note="module 3", tags=("fan",))
    assert workspace.label(label.id).same_content(book.get(label.id))
    stored = workspace.label(label.id)
    assert (stored.start_s, stored.end_s, stored.label_class) == (17.0, 30.0, "over_temperature")
    assert stored.version == 4

    assert book.undo_text == "change label"
    book.undo()  # class, note, tags back
    assert workspace.label(label.id).label_class == "cell_imbalance"
    book.undo()  # move back
    book.undo()  # resize back
    assert (workspace.label(label.id).start_s, workspace.label(label.id).end_s) == (10.0, 20.0)
    book.undo()  # the add
    assert workspace.label(label.id) is None and len(book) == 0
    assert not book.can_undo and book.undo() is False

    for _ in range(4):
        assert book.redo()
    again = workspace.label(label.id)
    assert (again.start_s, again.end_s, again.label_class) == (17.0, 30.0, "over_temperature")
    assert again.version > stored.version, "a redone change must be newer than any stored"
    assert events[0] == ("added", "cell_imbalance") and events[-1][0] == "changed"
    assert ("removed", "cell_imbalance") in events


def test_delete_undo_brings_the_same_label_back():
    workspace = Workspace()
    book = LabelBook(SESSION, sink=workspace)
    label = book.add(Label.by_technician(SESSION, 1.0, 2.0, "sensor_glitch", note="spike"))
    book.remove(label.id)
    assert workspace.labels(SESSION) == []
    assert [lab.id for lab in workspace.labels(SESSION, include_deleted=True)] == [label.id]
    tombstone = workspace.labels(SESSION, include_deleted=True)[0]
    book.undo()
    assert workspace.label(label.id).note == "spike"
    assert workspace.label(label.id).same_content(label)
    assert workspace.label(label.id).version > tombstone.version, "a sync must see it is newer"


def test_a_new_change_clears_redo_and_a_no_op_records_nothing():
    book = LabelBook(SESSION)
    label = book.add(Label.by_technician(SESSION, 1.0, 2.0, "other"))
    book.change(label.id, note="x")
    book.undo()
    assert book.can_redo
    book.change(label.id, note="y")
    assert not book.can_redo
    depth = len(book._done)
    book.change(label.id, note="y")
    assert len(book._done) == depth


def test_accept_and_reject_rule_labels_are_undoable():
    book = LabelBook(SESSION)
    label = book.add(Label.from_rule(SESSION, 1, 2, "cell_voltage_low", "cell_min", 0.7))
    book.accept(label.id)
    assert book.get(label.id).status == "accepted"
    book.reject(label.id)
    assert book.get(label.id).status == "rejected"
    book.undo()
    assert book.get(label.id).status == "accepted"
    assert book.redo_text == "reject label"


def test_label_of_another_session_is_refused():
    book = LabelBook(SESSION)
    with pytest.raises(LabelError, match="belongs to session"):
        book.add(Label.by_technician("b" * 64, 1, 2, "other"))


def test_labels_come_ordered_by_start():
    book = LabelBook(SESSION)
    for start in (30.0, 10.0, 20.0):
        book.add(Label.by_technician(SESSION, start, start + 1, "other"))
    assert [label.start_s for label in book] == [10.0, 20.0, 30.0]
