"""Booking's reads for the pages and the API: sittings in a window or by day, meetings, a meeting's sites.

They return a `Select` for the caller to run, or rows read in a bounded
number of queries whatever the number of sites (a national meeting has
10,000). They write nothing.
"""

from collections import defaultdict
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from vmeeting.booking.conflicts import MAX_DURATION
from vmeeting.booking.models import LIVE_STATUSES, Meeting, Occurrence, meeting_endpoints
from vmeeting.booking.series import describe_series, short_month_warning
from vmeeting.core.database import one_of
from vmeeting.core.extensions import db
from vmeeting.registry import areas
from vmeeting.registry import service as registry
from vmeeting.registry import succession
from vmeeting.registry.models import AdminUnit, Endpoint, endpoint_group_members
from vmeeting.core.text import fold
from vmeeting.core.timefmt import local_to_utc, to_local


def recurrence_text(meeting):
    """The meeting's series in words, in the reader's language ('' for a single meeting)."""
    return describe_series(meeting.recurrence, [o.starts_at for o in meeting.sittings_held])


def recurrence_warning(meeting):
    """A warning about the series' rule that people should see ('' when none): months without its day."""
    return short_month_warning(meeting.recurrence, meeting.starts_at)


def occurrences_select(window_from, window_to, *, endpoint_id=None, unit_id=None, group_id=None,
                       include_cancelled=False):
    """Select occurrences overlapping a window (series expanded), earliest first.

    endpoint_id, unit_id (with every unit below it), group_id: only meetings
    with at least one such site.
    """
    return (
        sa.select(Occurrence)
        .join(Occurrence.meeting)
        .where(*_occurrence_filters(window_from, window_to, endpoint_id, unit_id, include_cancelled, group_id))
        .options(selectinload(Occurrence.meeting).selectinload(Meeting.chair))
        .order_by(Occurrence.starts_at, Occurrence.id)
    )


def _occurrence_filters(window_from, window_to, endpoint_id, unit_id, include_cancelled, group_id=None):
    """The WHERE of occurrences_select (Occurrence joined to its Meeting)."""
    # the lower bound on starts_at keeps the index range to the window: no sitting is longer than MAX_DURATION
    filters = [Occurrence.starts_at < window_to, Occurrence.ends_at > window_from,
               Occurrence.starts_at > window_from - MAX_DURATION]
    if not include_cancelled:
        # a meeting waiting for approval (pending) holds its sites and shows, marked, as a scheduled one
        filters += [Occurrence.status == "scheduled", Meeting.status.in_(LIVE_STATUSES)]
    if endpoint_id is not None:
        filters.append(Occurrence.meeting_id.in_(
            sa.select(meeting_endpoints.c.meeting_id).where(meeting_endpoints.c.endpoint_id == endpoint_id)))
    if unit_id is not None:  # the sites under the unit on the window's first day, through the successions
        under = succession.endpoint_ids_under(unit_id, to_local(window_from).date(), registry.descendant_ids_select)
        filters.append(Occurrence.meeting_id.in_(
            sa.select(meeting_endpoints.c.meeting_id).where(meeting_endpoints.c.endpoint_id.in_(sorted(under)))))
    if group_id is not None:
        filters.append(Occurrence.meeting_id.in_(
            sa.select(meeting_endpoints.c.meeting_id)
            .join(endpoint_group_members, endpoint_group_members.c.endpoint_id == meeting_endpoints.c.endpoint_id)
            .where(endpoint_group_members.c.group_id == group_id)))
    return filters


def sittings_by_day(days, *, per_day=None, endpoint_id=None, unit_id=None, group_id=None):
    """Return ({day: [Occurrence]}, {day: how many}) of the scheduled sittings starting on each local day.

    days: consecutive local dates. per_day: list at most this many a day, the
    earliest (None: all). One query whatever the number of sittings: the day
    of each sitting, its rank in the day and the day's count come from SQL, so
    a week of the country's 3,000 sittings loads only what a page shows.
    """
    bounds = [local_to_utc(datetime.combine(day, time.min)) for day in days]
    bounds.append(local_to_utc(datetime.combine(days[-1] + timedelta(days=1), time.min)))
    inner = bounds[1:-1]
    day_index = (sa.case(*[(Occurrence.starts_at < bound, i) for i, bound in enumerate(inner)], else_=len(inner))
                 if inner else sa.literal(0))
    ranked = (
        sa.select(Occurrence.id, day_index.label("day"),
                  sa.func.row_number().over(partition_by=day_index,
                                            order_by=(Occurrence.starts_at, Occurrence.id)).label("rank"),
                  sa.func.count().over(partition_by=day_index).label("day_total"))
        .join(Occurrence.meeting)
        .where(*_occurrence_filters(bounds[0], bounds[-1], endpoint_id, unit_id, False, group_id),
               Occurrence.starts_at >= bounds[0])
        .subquery()
    )
    query = sa.select(ranked.c.id, ranked.c.day, ranked.c.day_total)
    if per_day is not None:
        query = query.where(ranked.c.rank <= per_day)
    # two steps: the ranks first, then the few sittings listed (a join back lets the planner scan them all)
    chosen = {row.id: (days[row.day], row.day_total) for row in db.session.execute(query)}
    listed, counts = defaultdict(list), {}
    if chosen:
        for occurrence in db.session.scalars(
                sa.select(Occurrence).where(one_of(Occurrence.id, chosen, db.session.get_bind()))
                .options(selectinload(Occurrence.meeting).selectinload(Meeting.chair))
                .order_by(Occurrence.starts_at, Occurrence.id)):
            day, total = chosen[occurrence.id]
            listed[day].append(occurrence)
            counts[day] = total
    return listed, counts


def meetings_select(*, q=None, status=None, organizer_id=None, window_from=None, window_to=None):
    """Select meetings for the list page, newest start first; q ignores accents and case."""
    query = sa.select(Meeting).options(selectinload(Meeting.chair)).order_by(Meeting.starts_at.desc(), Meeting.id.desc())
    if status:
        query = query.where(Meeting.status == status)
    if organizer_id:
        query = query.where(Meeting.organizer_id == organizer_id)
    if window_from is not None:
        query = query.where(Meeting.id.in_(sa.select(Occurrence.meeting_id).where(Occurrence.ends_at > window_from)))
    if window_to is not None:
        query = query.where(Meeting.id.in_(sa.select(Occurrence.meeting_id).where(Occurrence.starts_at < window_to)))
    for word in fold(q).split() if q else []:
        query = query.where(Meeting.search_key.contains(word, autoescape=True))
    return query


def sites_by_district(meeting):
    """Return [(district or province unit, [endpoints])] in official order, for the meeting page."""
    # units and their parents in two queries, not one per site: a national meeting has 10,000 sites
    endpoints = db.session.scalars(
        sa.select(Endpoint).join(meeting_endpoints, meeting_endpoints.c.endpoint_id == Endpoint.id)
        .where(meeting_endpoints.c.meeting_id == meeting.id)
        .options(selectinload(Endpoint.unit).selectinload(AdminUnit.parent), selectinload(Endpoint.technician))
        .order_by(Endpoint.name_sort_key, Endpoint.id)
    ).all()
    groups = defaultdict(list)
    heads = areas.district_heads({e.unit for e in endpoints})
    for endpoint in endpoints:
        groups[heads[endpoint.unit_id]].append(endpoint)
    level_order = {"province": 0, "district": 1, "commune": 2}
    return sorted(groups.items(), key=lambda kv: (level_order[kv[0].level], kv[0].position, kv[0].id))


def site_counts(meeting):
    """Return a meeting's sites counted, not loaded: {"levels": areas.count_site_levels' {chair, levels, total},
    "districts": [(unit, n)]}.

    levels: the chair apart, the others by their unit's level (registry.areas.site_level, the giấy mời's
    and the invite's count too); districts as `sites_by_district` groups them (areas.district_heads), in
    official order, or their provinces past areas.MOST_DISTRICT_GROUPS (areas.group_heads). Two queries whatever the number of sites.
    """
    is_chair = Endpoint.id == meeting.chair_endpoint_id
    rows = db.session.execute(
        sa.select(Endpoint.unit_id, is_chair, sa.func.count())
        .join(meeting_endpoints, meeting_endpoints.c.endpoint_id == Endpoint.id)
        .where(meeting_endpoints.c.meeting_id == meeting.id)
        .group_by(Endpoint.unit_id, is_chair)).all()
    units = {u.id: u for u in db.session.scalars(sa.select(AdminUnit).where(AdminUnit.id.in_({r[0] for r in rows}))
                                                 .options(selectinload(AdminUnit.parent)))}
    heads = areas.group_heads(units.values())  # by province past a national meeting's districts
    districts = defaultdict(int)
    for unit_id, _chair, n in rows:
        districts[heads[unit_id]] += n
    level_order = {"province": 0, "district": 1, "commune": 2}
    return {"levels": areas.count_site_levels((bool(chair), units[unit_id].level, n) for unit_id, chair, n in rows),
            "districts": sorted(districts.items(), key=lambda kv: (level_order[kv[0].level], kv[0].position, kv[0].id))}


# -- a meeting's sites, as ids ------------------------------------------------------------


def endpoint_ids_of(meeting):
    """Return the ids of the meeting's sites in the order of `Meeting.endpoints`: [int].

    After a booking or change in this session, the ids it wrote (a national
    meeting's 10,000 are not read back: booking.changes keeps them under
    WRITTEN_SITES); otherwise read as ids only.
    """
    written = db.session.info.get(WRITTEN_SITES, {}).get(meeting.id)
    if written is not None:
        return list(written)
    return list(db.session.scalars(
        sa.select(meeting_endpoints.c.endpoint_id).join(Endpoint, Endpoint.id == meeting_endpoints.c.endpoint_id)
        .where(meeting_endpoints.c.meeting_id == meeting.id).order_by(Endpoint.name_sort_key, Endpoint.id)))


#: Session.info key of {meeting id: [site id]}, the sites booking.changes wrote in this session
WRITTEN_SITES = "booking.written_site_ids"


@sa.event.listens_for(Session, "after_soft_rollback")
def _forget_written_sites(session, previous_transaction):
    """A rollback (a savepoint's too) undoes what booking.changes wrote: read the sites again."""
    session.info.pop(WRITTEN_SITES, None)
