"""booking.conflicts with exact answers: the report of each conflict and overfilled bridge, a meeting
that does not collide with itself, the meeting's bridge over the sites' own, and where peak() counts.

The generated oracle tests (test_conflict_properties.py) check which conflicts exist; these check
what is said about them.
"""

from datetime import timedelta

import pytest

from tests.booking.reservations import minute, store
from vmeeting.booking.conflicts import PlannedSitting, bridge_of, find_conflicts, peak
from vmeeting.booking.models import Reservation
from vmeeting.core.extensions import db

def sitting(start, end, setup=0):
    return PlannedSitting(minute(start), minute(start), minute(end), timedelta(minutes=setup))


def test_bridge_of_prefers_the_meeting_bridge():
    class Site:
        bridge_id = 4

    assert bridge_of(Site, None) == 4
    assert bridge_of(Site, 9) == 9
    Site.bridge_id = None
    assert bridge_of(Site, None) is None


def test_nothing_to_check_is_no_conflict(app, make_endpoint):
    site = make_endpoint()
    store(site, 0, 60)
    assert find_conflicts([], [site]) == ([], [])
    assert find_conflicts([sitting(0, 60)], []) == ([], [])


def test_each_conflict_is_reported_in_full_in_order_of_its_start(app, make_endpoint):
    a, b = make_endpoint("UBND xã Hòa Bình"), make_endpoint("UBND xã Mai Sao")
    later_meeting, later = store(a, 300, 360, title="Họp chiều")  # stored first, starts later
    early_meeting, early = store(b, 60, 120, setup=15, title="Giao ban sáng")
    conflicts, capacity = find_conflicts([sitting(100, 130), sitting(330, 400)], [a, b])
    assert conflicts == [
        {"endpoint_id": b.id, "endpoint_name": "UBND xã Mai Sao", "meeting_id": early_meeting.id,
         "meeting_title": "Giao ban sáng", "occurrence_id": early.id, "endpoint_district": "", "priority": "local",
         "starts_at": minute(60).isoformat(), "ends_at": minute(120).isoformat()},
        {"endpoint_id": a.id, "endpoint_name": "UBND xã Hòa Bình", "meeting_id": later_meeting.id,
         "meeting_title": "Họp chiều", "occurrence_id": later.id, "endpoint_district": "", "priority": "local",
         "starts_at": minute(300).isoformat(), "ends_at": minute(360).isoformat()},
    ]
    assert capacity == []


def test_a_site_busy_in_two_sittings_of_a_series_is_reported_once_per_sitting(app, make_endpoint):
    site = make_endpoint()
    meeting, first = store(site, 0, 60)
    _, second = store(site, 1440, 1500, meeting=meeting)
    sittings = [sitting(30, 90), sitting(1450, 1460), sitting(1470, 1480)]
    conflicts, _ = find_conflicts(sittings, [site])
    assert [c["occurrence_id"] for c in conflicts] == [first.id, second.id]


def test_a_meeting_does_not_collide_with_itself(app, make_endpoint, make_bridge):
    bridge = make_bridge(ports=1)
    site = make_endpoint(bridge_id=bridge.id)
    own, _ = store(site, 0, 60)
    other, occurrence = store(site, 120, 180)
    sittings = [sitting(30, 150)]
    conflicts, capacity = find_conflicts(sittings, [site], ignore_meeting_id=own.id)
    assert [c["meeting_id"] for c in conflicts] == [other.id]
    assert [(c["in_use"], c["requested"]) for c in capacity] == [(1, 1)]
    conflicts, capacity = find_conflicts([sitting(0, 60)], [site], ignore_meeting_id=own.id)
    assert (conflicts, capacity) == ([], [])
    conflicts, capacity = find_conflicts([sitting(0, 60)], [site])
    assert [c["meeting_id"] for c in conflicts] == [own.id]
    assert [(c["in_use"], c["requested"]) for c in capacity] == [(1, 1)]


def test_an_overfilled_bridge_is_reported_in_full_per_sitting(app, make_endpoint, make_bridge):
    bridge = make_bridge(ports=2, code="MCU-TINH")
    busy, free = make_endpoint(bridge_id=bridge.id), [make_endpoint(bridge_id=bridge.id) for _ in range(2)]
    store(busy, 0, 60)
    sittings = [sitting(30, 90), sitting(60, 90), sitting(200, 260)]
    conflicts, capacity = find_conflicts(sittings, free)
    assert conflicts == []
    assert capacity == [{"bridge_id": bridge.id, "bridge_code": "MCU-TINH", "ports": 2, "in_use": 1, "requested": 2,
                         "starts_at": minute(30).isoformat(), "ends_at": minute(90).isoformat()}]


def test_the_meeting_bridge_carries_every_site_whatever_their_own(app, make_endpoint, make_bridge):
    own_bridge, meeting_bridge = make_bridge(ports=50), make_bridge(ports=2)
    holder = make_endpoint(bridge_id=meeting_bridge.id)
    store(holder, 0, 60)
    sites = [make_endpoint(bridge_id=own_bridge.id), make_endpoint()]  # the second has no bridge of its own
    assert find_conflicts([sitting(0, 60)], sites) == ([], [])
    _, capacity = find_conflicts([sitting(0, 60)], sites, meeting_bridge_id=meeting_bridge.id)
    assert [(c["bridge_id"], c["in_use"], c["requested"], c["ports"]) for c in capacity] == [
        (meeting_bridge.id, 1, 2, 2)]


def test_a_set_up_window_is_part_of_the_busy_interval(app, make_endpoint):
    site = make_endpoint()
    store(site, 60, 120)
    assert find_conflicts([sitting(130, 180, setup=10)], [site])[0] == []
    assert len(find_conflicts([sitting(130, 180, setup=11)], [site])[0]) == 1


@pytest.mark.parametrize("intervals, window, expected", [
    ([], (0, 10), 0),
    ([(0, 10)], (10, 20), 0),          # ends as the window opens
    ([(10, 20)], (0, 10), 0),          # starts as the window closes
    ([(0, 10), (10, 20)], (0, 20), 1),  # an end frees the port before a start at the same instant
    ([(0, 10), (5, 20), (5, 8)], (0, 20), 3),
    ([(0, 10), (5, 20), (5, 8)], (8, 20), 2),
    ([(0, 30)], (10, 20), 1),
])
def test_peak_counts_overlaps_inside_the_window(intervals, window, expected):
    as_times = [(minute(lo), minute(hi)) for lo, hi in intervals]
    assert peak(as_times, minute(window[0]), minute(window[1])) == expected


def test_a_long_series_reports_each_conflict_once_across_its_chunks_of_sittings(app, make_endpoint):
    """Sittings are queried a hundred at a time: the first and the 101st meet the same booking."""
    site = make_endpoint()
    _, first = store(site, 0, 10)
    _, last = store(site, 5000, 5010)
    sittings = [sitting(0, 5)] + [sitting(1000 + 10 * i, 1005 + 10 * i) for i in range(99)]
    sittings += [sitting(2, 4), sitting(5000, 5010)]
    conflicts, _ = find_conflicts(sittings, [site])
    assert [c["occurrence_id"] for c in conflicts] == [first.id, last.id]


def test_each_bridge_counts_its_own_load_at_its_own_times(app, make_endpoint, make_bridge):
    """The load is read per bridge and per busy interval: another bridge's sites, or a site of this bridge
    busy at another time of the window, take none of its ports."""
    first, second = make_bridge(ports=2, code="MCU-A"), make_bridge(ports=2, code="MCU-B")
    store(make_endpoint(bridge_id=first.id), 0, 60)
    store(make_endpoint(bridge_id=second.id), 0, 60)
    assert find_conflicts([sitting(0, 60)], [make_endpoint(bridge_id=first.id)]) == ([], [])
    # one site of the bridge busy until 30, one until 120, both from 0: at 60–90 only the second holds a port
    third = make_bridge(ports=2, code="MCU-C")
    store(make_endpoint(bridge_id=third.id), 0, 30)
    store(make_endpoint(bridge_id=third.id), 0, 120)
    assert find_conflicts([sitting(60, 90)], [make_endpoint(bridge_id=third.id)]) == ([], [])
    # and both from 0 to 120 at once: the window 60–90 sees two, and a third site overfills it
    store(make_endpoint(bridge_id=third.id), 50, 120)
    _, capacity = find_conflicts([sitting(60, 90)], [make_endpoint(bridge_id=third.id)])
    assert [(c["bridge_code"], c["in_use"], c["requested"]) for c in capacity] == [("MCU-C", 2, 1)]


def test_busy_sites_are_named_with_their_district_and_grouped_by_the_meeting_that_holds_them(app, make_unit, province,
                                                                                              make_endpoint):
    """Two communes of one name in two districts read apart; the answer lists each busy sitting once."""
    from vmeeting.booking.conflicts import busy_meetings
    from vmeeting.booking.validation import conflict_message

    van_lang = make_unit("Huyện Văn Lãng", kind="huyện", parent=province)
    bac_son = make_unit("Huyện Bắc Sơn", kind="huyện", parent=province)
    one = make_endpoint("UBND xã Tân Thanh", unit=make_unit("Xã Tân Thanh", parent=van_lang))
    two = make_endpoint("UBND xã Tân Thanh", unit=make_unit("Xã Tân Thanh", parent=bac_son))
    other = make_endpoint("UBND xã Vũ Lăng", unit=make_unit("Xã Vũ Lăng", parent=bac_son))
    _meeting, held = store(one, 60, 120, title="Họp sáng")
    db.session.add_all([Reservation(occurrence_id=held.id, endpoint_id=site.id, bridge_id=site.bridge_id,
                                    busy_from=minute(60), busy_until=minute(120)) for site in (two, other)])
    db.session.flush()
    conflicts, _capacity = find_conflicts([sitting(90, 100)], [one, two, other])
    assert {c["endpoint_district"] for c in conflicts} == {"Văn Lãng", "Bắc Sơn"}
    busy = busy_meetings(conflicts)
    assert len(busy) == 1 and [s["endpoint_district"] for s in busy[0]["sites"]] == ["Bắc Sơn", "Bắc Sơn", "Văn Lãng"]
    message = str(conflict_message(conflicts, []))
    assert "UBND xã Tân Thanh (Bắc Sơn)" in message and "UBND xã Tân Thanh (Văn Lãng)" in message
    assert "UBND xã Vũ Lăng," in message or "UBND xã Vũ Lăng." in message  # a name of its own needs no district
