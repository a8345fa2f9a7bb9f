"""Labels written as they are made, conflicts between technicians, and the fleet view."""

from __future__ import annotations

import pytest

from app.labels import Label, LabelBook
from app.store import (
    LabelConflict,
    ServerLabelSink,
    add_label,
    connect,
    delete_label,
    fleet,
    migrate,
    read_labels,
    update_label,
    upload_session,
)
from tests.store.helpers import ORIGIN_EPOCH_S, make_upload

pytestmark = pytest.mark.postgres


@pytest.fixture
def conn(admin_conninfo):
    with connect(admin_conninfo) as conn:
        migrate(conn, prefer_timescaledb=False)
        yield conn


def test_labels_round_trip_with_every_field(conn):
    labels = [
        Label.by_technician(
            "s", 10.5, 20.25, "cell_imbalance", note="cell 37 low 'again'", tags=("cell37", "drive")
        ),
        Label.from_rule("s", 100.0, 160.0, "over_temperature", rule="hot", confidence=0.75),
    ]
    session_id = upload_session(conn, make_upload(labels=labels)).session_id

    back = read_labels(conn, session_id)

    assert [version for _, version in back] == [1, 1]
    for original, (stored, _) in zip(labels, back, strict=True):
        assert stored.id == original.id
        assert stored.start_s == pytest.approx(original.start_s, abs=1e-6)
        assert stored.end_s == pytest.approx(original.end_s, abs=1e-6)
        assert (stored.label_class, stored.note, stored.tags) == (
            original.label_class,
            original.note,
            original.tags,
        )
        assert (stored.source, stored.status, stored.author) == (
            original.source,
            original.status,
            original.author,
        )
        assert (
            stored.confidence == pytest.approx(original.confidence)
            if (original.confidence)
            else stored.confidence is None
        )
        assert stored.origin_epoch_s == pytest.approx(ORIGIN_EPOCH_S)


def test_grafana_annotation_query_reads_the_labels(conn):
    label = Label.by_technician("s", 30.0, 45.0, "voltage_sag", note="sag", tags=("a", "b"))
    session_id = upload_session(conn, make_upload(labels=[label])).session_id
    row = conn.execute(
        'SELECT extract(epoch FROM "time") * 1000 AS time, '
        "extract(epoch FROM timeend) * 1000 AS timeend, text, tags "
        "FROM evbm.labels WHERE session_id = %s",
        (session_id,),
    ).fetchone()
    assert float(row[0]) == pytest.approx((ORIGIN_EPOCH_S + 30.0) * 1000)
    assert float(row[1]) == pytest.approx((ORIGIN_EPOCH_S + 45.0) * 1000)
    assert row[2:] == ("sag", ["a", "b"])


def test_two_technicians_changing_one_label_get_a_conflict(conn, admin_conninfo):
    session_id = upload_session(conn, make_upload()).session_id
    label = Label.by_technician("s", 1.0, 2.0, "other")
    add_label(conn, session_id, label)

    with connect(admin_conninfo) as other:
        ((theirs, version),) = read_labels(other, session_id)
        assert update_label(other, theirs.replace(label_class="sensor_glitch"), version) == 2

    with pytest.raises(
        LabelConflict, match=r"changed it at .* \(you had version 1, the server has 2\)"
    ):
        update_label(conn, label.replace(end_s=3.0), 1)
    ((stored, version),) = read_labels(conn, session_id)
    assert stored.label_class == "sensor_glitch" and stored.end_s == 2.0 and version == 2

    with pytest.raises(LabelConflict):
        delete_label(conn, label.id, 1)
    delete_label(conn, label.id, 2)
    with pytest.raises(LabelConflict, match="deleted it"):
        update_label(conn, label, 2)


def test_a_label_book_writes_through_to_the_server(conn, admin_conninfo):
    session_id = upload_session(conn, make_upload()).session_id
    sink = ServerLabelSink(conn, session_id)
    book = LabelBook("s", sink=sink)
    made = book.add(Label.by_technician("s", 5.0, 9.0, "other"))
    book.change(made.id, label_class="charging_fault")
    book.undo()

    with connect(admin_conninfo) as other:
        ((stored, version),) = read_labels(other, session_id)
    assert stored.label_class == "other" and version == 3


def test_fleet_lists_latest_session_soc_soh_and_labels(conn):
    older = make_upload(name="older", vehicle="car A", seed=1)
    newer = make_upload(
        name="newer", vehicle="car A", seed=2, labels=[Label.by_technician("s", 1.0, 2.0, "other")]
    )
    newer.origin_epoch_s = older.origin_epoch_s + 86_400
    upload_session(conn, older)
    newest_id = upload_session(conn, newer).session_id
    upload_session(
        conn,
        make_upload(
            name="other car", vehicle="car B", seed=3, traces=make_upload(seed=3).traces[:2]
        ),
    )

    rows = {row.name: row for row in fleet(conn)}

    soc = next(t for t in newer.traces if t.role == "soc")
    soh = next(t for t in newer.traces if t.role == "bms_soh")
    car_a = rows["car A"]
    assert (car_a.session_count, car_a.latest_session_id, car_a.latest_session) == (
        2,
        newest_id,
        "newer",
    )
    assert car_a.soc_pct == soc.values[soc.valid][-1]
    assert car_a.bms_soh_pct == soh.values[soh.valid][-1]
    assert car_a.label_count == 1
    assert rows["car B"].soc_pct is None and rows["car B"].label_count == 0
