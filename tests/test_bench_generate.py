"""The benchmark's data generator, run small on SQLite, so that it keeps working as the schema moves."""

import sys
from pathlib import Path

import sqlalchemy as sa

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _generate_module():
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    import generate

    return generate


def test_generator_makes_a_consistent_country(tmp_path):
    generate = _generate_module()
    url = f"sqlite:///{tmp_path / 'country.db'}"
    country = generate.main([url, "--endpoints", "300", "--provinces", "3", "--days", "28",
                             "--small-meetings", "200"])

    assert country.counts["endpoints"] == 300
    assert len(country.endpoint_ids) == 300
    assert country.province_meeting_id and country.feed_endpoint_id in country.reference_endpoint_ids
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        def count(sql):
            return conn.exec_driver_sql(sql).scalar()

        assert count("SELECT count(*) FROM admin_units WHERE level = 'province'") == 3
        assert count("SELECT count(*) FROM occurrences") == country.counts["occurrences"] > 200
        assert count("SELECT count(*) FROM reservations") == country.counts["reservations"]
        # what the overlap rule enforces on PostgreSQL (migration 0017): no endpoint busy twice at once
        assert count("SELECT count(*) FROM reservations a JOIN reservations b ON a.endpoint_id = b.endpoint_id "
                     "AND a.id < b.id AND a.busy_from < b.busy_until AND b.busy_from < a.busy_until") == 0
        # nor a bridge over its ports: each site reserves its own province's bridge, sized for all its sites
        assert count("SELECT count(*) FROM endpoints e JOIN bridges b ON b.id = e.bridge_id "
                     "GROUP BY b.id HAVING count(*) > max(b.ports)") is None
        # a series' first sitting is its DTSTART, as iCalendar reads it
        assert count("SELECT count(*) FROM meetings m WHERE m.recurrence IS NOT NULL AND m.starts_at != "
                     "(SELECT min(o.starts_at) FROM occurrences o WHERE o.meeting_id = m.id)") == 0
    engine.dispose()


def test_the_busy_week_leaves_its_first_slots_to_thursday(tmp_path):
    """`make bench`'s slot-finder case: every start of Monday to Wednesday has a busy site in each province."""
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from vmeeting.booking.slots import find_slots
    from vmeeting.core.extensions import db
    from vmeeting.registry.models import AdminUnit, Endpoint

    generate = _generate_module()
    url = f"sqlite:///{tmp_path / 'country.db'}"
    country = generate.main([url, "--endpoints", "300", "--provinces", "3", "--days", "28",
                             "--small-meetings", "200"])
    app = generate.make_app(url)
    with app.app_context():
        monday, provinces = generate.busy_week(country, at_least=150)
        assert monday > country.last_day and monday.weekday() == 0 and len(provinces) >= 1
        zone = ZoneInfo("Asia/Ho_Chi_Minh")
        window_from = datetime.combine(monday, time(0), tzinfo=zone)
        for chosen in (provinces[:1], provinces):
            units = db.session.scalars(sa.select(AdminUnit.id)).all()
            parent = dict(db.session.execute(sa.select(AdminUnit.id, AdminUnit.parent_id)).all())

            def province_of(unit_id):
                while parent.get(unit_id) is not None:
                    unit_id = parent[unit_id]
                return unit_id

            inside = [u for u in units if province_of(u) in chosen]
            sites = db.session.scalars(sa.select(Endpoint).where(Endpoint.unit_id.in_(inside))).all()
            found = find_slots(sites, timedelta(hours=1), window_from, window_from + timedelta(days=7), limit=3,
                               setup_minutes=30)
            assert [s.astimezone(zone).strftime("%a %H:%M") for s, _e in found] == [
                "Thu 08:00", "Thu 08:30", "Thu 09:00"]


def test_the_page_weights_table_gives_each_pages_ratio_from_213_to_10000_sites():
    """`make bench`'s page weights: elements and bytes as the browser gets them, and the growth 10,000/213."""
    _generate_module()
    import weights

    assert weights.page_weight("<p>Hòa <b>Bình</b><br/></p>".encode()) == {"nodes": 3, "bytes": 29}  # ò and ì are two bytes each
    figures = {f"weight_{key}_{size}": {"bytes": 1000 * n, "nodes": 100 * n}
               for key in weights.WEIGHT_PAGES for size, n in ((213, 2), (10000, 3))}
    growth = weights.weight_growth(figures)
    assert set(growth) == set(weights.WEIGHT_PAGES) == {"readiness", "meeting_page", "roll_call", "booking_form"}
    assert growth["roll_call"] == {"bytes": 1.5, "nodes": 1.5}
    table = weights.weight_table(figures, growth)
    assert "| roll-call | 2,000 B, 200 el. | 3,000 B, 300 el. | 1.5 (bytes), 1.5 (elements) |" in table
