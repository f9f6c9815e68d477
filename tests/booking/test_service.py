"""Booking rules: overlaps at the edges, the set-up window, capacity, series, zones."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from tests.booking.conftest import next_monday
from tests.conftest import count
from vmeeting.booking import service, slots
from vmeeting.booking.models import Meeting, Occurrence, Reservation
from vmeeting.core.errors import Conflict, ValidationError
from vmeeting.core.extensions import db
from vmeeting.registry import service as registry


def test_touching_busy_intervals_do_not_conflict(sites, book):
    hall, commune = sites["hall"], sites["communes"][0]
    start = next_monday(8)
    book([hall, commune], start, minutes=60)  # busy 07:30–09:00
    # 09:30 start with 30 minutes of set-up: busy from 09:00, exactly when the first ends
    second = book([hall, commune], start + timedelta(minutes=90), minutes=60)
    assert second.id is not None
    assert count(Reservation) == 4


def test_setup_window_conflicts(sites, book):
    hall, commune = sites["hall"], sites["communes"][0]
    start = next_monday(8)
    first = book([hall, commune], start, minutes=60)
    before = (count(Meeting), count(Occurrence), count(Reservation))
    with pytest.raises(Conflict) as raised:
        # starts 09:15, so its test call from 08:45 falls inside the first meeting
        book([commune], start + timedelta(minutes=75), minutes=30, chair=commune)
    db.session.rollback()
    conflicts = raised.value.details["conflicts"]
    assert [(c["endpoint_id"], c["meeting_id"]) for c in conflicts] == [(commune.id, first.id)]
    assert conflicts[0]["starts_at"] == start.astimezone(timezone.utc).isoformat()
    assert (count(Meeting), count(Occurrence), count(Reservation)) == before


def test_book_without_the_busy_sites(sites, book):
    hall, (a, b, *_rest) = sites["hall"], sites["communes"]
    start = next_monday(14)
    book([a], start, chair=a)
    meeting = book([hall, a, b], start, chair=hall, skip_busy=True)
    assert {e.id for e in meeting.endpoints} == {hall.id, b.id}
    assert meeting.endpoint_count == 2


def test_busy_chair_cannot_be_skipped(sites, book):
    hall, a = sites["hall"], sites["communes"][0]
    start = next_monday(14)
    book([hall], start)
    with pytest.raises(Conflict):
        book([hall, a], start, chair=hall, skip_busy=True)


def test_bridge_capacity(sites, book, make_endpoint, make_bridge, province):
    small = make_bridge(ports=3)
    on_small = [make_endpoint(unit=province, bridge_id=small.id) for _ in range(4)]
    start = next_monday(8)
    book(on_small[:2], start)
    with pytest.raises(Conflict) as raised:
        book(on_small[2:], start + timedelta(minutes=30))
    db.session.rollback()
    capacity = raised.value.details["capacity"]
    assert capacity["bridge_id"] == small.id
    assert (capacity["ports"], capacity["in_use"], capacity["requested"]) == (3, 2, 2)
    # one more fits exactly
    book(on_small[2:3], start + timedelta(minutes=30))


def test_bridge_capacity_frees_when_meetings_touch(book, make_endpoint, make_bridge, province):
    small = make_bridge(ports=2)
    eps = [make_endpoint(unit=province, bridge_id=small.id) for _ in range(4)]
    start = next_monday(8)
    book(eps[:2], start, minutes=60)
    book(eps[2:], start + timedelta(minutes=90), minutes=60)  # its set-up begins when the first ends


def test_meeting_bridge_overrides_home_bridges(sites, book, make_bridge):
    tiny = make_bridge(ports=2)
    with pytest.raises(Conflict) as raised:
        book(sites["communes"][:3], next_monday(8), bridge_id=tiny.id)
    assert raised.value.details["capacity"]["bridge_id"] == tiny.id


def test_maintenance_and_retired_sites_cannot_be_booked(sites, make_endpoint, district):
    retired = sites["communes"][0]
    registry.retire_endpoint(retired)
    db.session.commit()
    with pytest.raises(ValidationError) as raised:
        service.resolve_sites(endpoint_ids=[retired.id])
    assert "endpoint_ids" in raised.value.fields
    registry.update_endpoint(sites["communes"][1], {"status": "maintenance"})
    db.session.commit()
    choice = service.resolve_sites(unit_ids=[district.id])
    assert {e.id for e in choice.endpoints} == {e.id for e in sites["communes"][2:]}
    assert [e.id for e, _reason in choice.excluded] == [sites["communes"][1].id]


def test_a_unit_includes_everything_below_it(sites, province):
    choice = service.resolve_sites(unit_ids=[province.id])
    assert len(choice.endpoints) == 5
    everything = service.resolve_sites(all_endpoints=True)
    assert {e.id for e in everything.endpoints} == {e.id for e in choice.endpoints}


def test_times_entered_locally_are_stored_in_utc(sites, book):
    start = next_monday(8)
    meeting = book([sites["hall"]], start)
    db.session.expire_all()
    stored = db.session.get(Meeting, meeting.id)
    assert stored.starts_at.tzinfo is not None
    assert stored.starts_at.utcoffset() == timedelta(0)
    assert stored.starts_at.hour == 1  # 08:00 in Asia/Ho_Chi_Minh
    reservation = db.session.scalars(sa.select(Reservation)).one()
    assert reservation.busy_from == stored.starts_at - timedelta(minutes=30)


def test_naive_times_are_refused(sites):
    choice = service.resolve_sites(endpoint_ids=[sites["hall"].id])
    naive = next_monday(8).replace(tzinfo=None)
    with pytest.raises(ValidationError) as raised:
        service.book_meeting({"title": "x", "starts_at": naive, "ends_at": naive + timedelta(hours=1),
                              "chair_endpoint_id": sites["hall"].id}, choice)
    assert "starts_at" in raised.value.fields


def test_weekly_series_with_a_cancelled_and_a_moved_sitting(sites, book):
    hall, a = sites["hall"], sites["communes"][0]
    start = next_monday(8)
    series = book([hall, a], start, recurrence="FREQ=WEEKLY;BYDAY=MO;COUNT=4", title="Giao ban tuần")
    occurrences = series.occurrences
    assert [o.starts_at for o in occurrences] == [
        (start + timedelta(weeks=i)).astimezone(timezone.utc) for i in range(4)]
    assert count(Reservation) == 8

    service.cancel_occurrence(occurrences[1])
    db.session.commit()
    # the cancelled Monday is free again; the others still block
    other = book([a], start + timedelta(weeks=1), chair=a)
    assert other.id
    with pytest.raises(Conflict):
        book([a], start + timedelta(weeks=2), chair=a)
    db.session.rollback()

    service.move_occurrence(occurrences[3], start + timedelta(weeks=3, hours=6),
                            start + timedelta(weeks=3, hours=7))
    db.session.commit()
    moved = db.session.get(Occurrence, occurrences[3].id)
    assert moved.is_moved and moved.original_starts_at == (start + timedelta(weeks=3)).astimezone(timezone.utc)
    assert db.session.get(Meeting, series.id).sequence == 2
    listed = db.session.scalars(service.occurrences_select(start, start + timedelta(weeks=5))).all()
    assert [o.meeting_id for o in listed].count(series.id) == 3


def test_series_needs_an_end_and_a_supported_rule(sites, book):
    for rule, fragment in (("FREQ=WEEKLY;BYDAY=MO", "UNTIL"), ("FREQ=HOURLY;COUNT=3", "hằng ngày"),
                           ("FREQ=WEEKLY;BYDAY=XX;COUNT=2", "RRULE"), ("FREQ=DAILY;BYHOUR=8,14;COUNT=4", "BYHOUR")):
        with pytest.raises(ValidationError) as raised:
            book([sites["hall"]], next_monday(8), recurrence=rule)
        assert fragment in raised.value.fields["recurrence"]


def test_until_is_stored_in_utc(sites, book):
    meeting = book([sites["hall"]], next_monday(8), recurrence="FREQ=DAILY;UNTIL=" +
                   (next_monday(8) + timedelta(days=2)).strftime("%Y%m%d"))
    assert meeting.recurrence.endswith("T165959Z")  # 23:59:59 local
    assert len(meeting.occurrences) == 3


def test_reschedule_ignores_its_own_reservations_and_bumps_sequence(sites, book):
    start = next_monday(8)
    meeting = book([sites["hall"], sites["communes"][0]], start)
    service.update_meeting(meeting, {"starts_at": (start + timedelta(minutes=30)).astimezone(timezone.utc),
                                     "ends_at": (start + timedelta(minutes=90)).astimezone(timezone.utc)})
    db.session.commit()
    assert meeting.sequence == 1
    assert db.session.scalar(sa.select(sa.func.min(Reservation.busy_from))) == start.astimezone(timezone.utc)


def test_changing_sites_checks_conflicts(sites, book):
    hall, a, b = sites["hall"], *sites["communes"][:2]
    start = next_monday(8)
    book([b], start, chair=b)
    meeting = book([hall, a], start, chair=hall)
    with pytest.raises(Conflict):
        service.update_meeting(meeting, {}, service.resolve_sites(endpoint_ids=[hall.id, a.id, b.id]))
    db.session.rollback()
    assert {e.id for e in db.session.get(Meeting, meeting.id).endpoints} == {hall.id, a.id}


def test_cancel_keeps_the_meeting_and_frees_the_sites(sites, book):
    start = next_monday(8)
    meeting = book([sites["hall"]], start)
    service.cancel_meeting(meeting)
    db.session.commit()
    assert db.session.get(Meeting, meeting.id).status == "cancelled"
    assert count(Reservation) == 0
    book([sites["hall"]], start)


def test_an_endpoint_in_a_future_meeting_cannot_be_retired(sites, book):
    book([sites["hall"]], next_monday(8))
    with pytest.raises(Conflict):
        registry.retire_endpoint(sites["hall"])


def test_slot_finder_skips_busy_time_lunch_and_weekends(sites, book):
    hall, a = sites["hall"], sites["communes"][0]
    monday = next_monday(8)
    book([a], monday, minutes=120, chair=a)  # busy 07:30–10:00
    window_from = monday.replace(hour=0)
    found = slots.find_slots([hall, a], timedelta(minutes=60), window_from.astimezone(timezone.utc),
                             (window_from + timedelta(days=7)).astimezone(timezone.utc), limit=4)
    local = [s.astimezone(monday.tzinfo) for s, _e in found]
    # the first hour that is free with its set-up window: 10:00–11:30 busy → 10:30; lunch skipped, and the
    # afternoon's set-up window starts at 13:30 with the working hours, so its first sitting is at 14:00
    assert [(t.weekday(), t.strftime("%H:%M")) for t in local] == [
        (0, "10:30"), (0, "14:00"), (0, "14:30"), (0, "15:00")]


def test_slot_finder_respects_bridge_capacity(book, make_endpoint, make_bridge, province):
    small = make_bridge(ports=2)
    eps = [make_endpoint(unit=province, bridge_id=small.id) for _ in range(3)]
    monday = next_monday(8)
    book(eps[:2], monday.replace(hour=7, minute=30), minutes=240)  # the whole morning block
    found = slots.find_slots([eps[2]], timedelta(minutes=60), monday.replace(hour=0).astimezone(timezone.utc),
                             (monday + timedelta(days=1)).astimezone(timezone.utc), limit=1)
    assert found[0][0].astimezone(monday.tzinfo).strftime("%H:%M") == "14:00"  # set-up from 13:30


def test_slots_are_never_on_weekends(sites):
    saturday = next_monday(0) - timedelta(days=2)
    found = slots.find_slots([sites["hall"]], timedelta(minutes=60), saturday.astimezone(timezone.utc),
                             (saturday + timedelta(days=2)).astimezone(timezone.utc))
    assert found == []


def test_a_sitting_cannot_be_moved_onto_its_sibling(sites, book):
    hall, a = sites["hall"], sites["communes"][0]
    start = next_monday(8)
    series = book([hall, a], start, recurrence="FREQ=DAILY;COUNT=3", title="Tập huấn")
    second, third = series.occurrences[1], series.occurrences[2]
    with pytest.raises(Conflict) as raised:
        service.move_occurrence(second, third.starts_at, third.ends_at)
    assert {c["occurrence_id"] for c in raised.value.details["conflicts"]} == {third.id}
    db.session.rollback()
    # nothing moved, nothing doubled
    assert db.session.get(Occurrence, second.id).starts_at == (start + timedelta(days=1)).astimezone(timezone.utc)
    assert count(Reservation) == 6
    # moved half an hour after its sibling's end it fits: the set-up window touches the end
    service.move_occurrence(second, third.ends_at + timedelta(minutes=30), third.ends_at + timedelta(minutes=90))
    db.session.commit()
    assert count(Reservation) == 6


def test_a_meeting_that_has_ended_keeps_its_times(sites, book):
    hall = sites["hall"]
    meeting = book([hall], next_monday(8), title="Đã họp")
    # time passes: the sitting is over
    past = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(weeks=2)
    meeting.starts_at, meeting.ends_at = past, past + timedelta(hours=1)
    only = meeting.occurrences[0]
    only.starts_at, only.ends_at, only.original_starts_at = meeting.starts_at, meeting.ends_at, meeting.starts_at
    db.session.commit()

    later = next_monday(14)
    with pytest.raises(ValidationError) as raised:
        service.update_meeting(meeting, {"starts_at": later, "ends_at": later + timedelta(hours=1)})
    assert "đã kết thúc" in raised.value.fields["starts_at"]
    db.session.rollback()
    service.update_meeting(meeting, {"title": "Đã họp (biên bản)"})  # its details may still be corrected
    db.session.commit()
    assert count(Occurrence) == 1 and meeting.title == "Đã họp (biên bản)"


def test_a_new_hour_for_a_series_leaves_its_moved_and_cancelled_sittings_alone(sites, book):
    hall, a = sites["hall"], sites["communes"][0]
    start = next_monday(8)
    series = book([hall, a], start, recurrence="FREQ=DAILY;COUNT=3", title="Trực ban")
    first, second, third = series.occurrences
    service.move_occurrence(second, start + timedelta(days=1, hours=6), start + timedelta(days=1, hours=7))
    service.cancel_occurrence(third)
    db.session.commit()

    service.update_meeting(series, {"starts_at": start + timedelta(hours=1), "ends_at": start + timedelta(hours=2)})
    db.session.commit()
    rows = db.session.scalars(sa.select(Occurrence).order_by(Occurrence.id)).all()
    assert [o.id for o in rows] == [first.id, second.id, third.id]  # the same rows, nothing added
    local = [(o.starts_at.astimezone(start.tzinfo).hour, o.status, o.is_moved) for o in rows]
    assert local == [(9, "scheduled", False), (14, "scheduled", True), (9, "cancelled", False)]
    assert count(Reservation) == 4  # two sites at two scheduled sittings


def test_sites_written_then_rolled_back_are_read_again(book, sites):
    """endpoint_ids_of answers from what a change wrote, until a rollback undoes it (the form's preview does)."""
    hall, first, second = sites["hall"], sites["communes"][0], sites["communes"][1]
    meeting = book([hall, first], next_monday(9))
    stored = service.endpoint_ids_of(meeting)
    service.update_meeting(meeting, {}, service.resolve_sites(endpoint_ids=[hall.id, second.id]))
    assert sorted(service.endpoint_ids_of(meeting)) == sorted([hall.id, second.id])
    db.session.rollback()
    assert service.endpoint_ids_of(meeting) == stored
    service.update_meeting(meeting, {}, service.resolve_sites(endpoint_ids=[hall.id, second.id]))
    db.session.commit()
    written = service.endpoint_ids_of(meeting)
    db.session.info.clear()  # as a new request would see them
    assert service.endpoint_ids_of(meeting) == written
