"""Calendar feeds: subscribable .ics of an endpoint, a technician or a unit, behind revocable tokens.

A feed is rebuilt only when what it shows changes: cheap queries give a
fingerprint of everything the body is made of (its meetings' count, last
change and sequences; its sites, the meetings' chair sites and the bookers'
names and agencies, which the ORGANIZER's name is made of; the organizer
address and the zone), which is the ETag; the built body is kept per feed
until the fingerprint moves. The feed remembers the ETag it last served and
since when (`served_since`): that is its Last-Modified, so a change that has
no time of its own (a booker's agency) still moves it, and a client asking
with If-Modified-Since alone is not told 304 about a changed feed.
"""

import hashlib
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import cachetools
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from vmeeting.booking.models import Meeting, Occurrence, meeting_endpoints
from vmeeting.core.database import read_only, utcnow, writing
from vmeeting.core.timefmt import to_local
from vmeeting.core.errors import ValidationError
from vmeeting.core.extensions import db
from vmeeting.invites import ical
from vmeeting.invites.models import FEED_KINDS, CalendarFeed
from vmeeting.invites.notice import feed_description, site_label
from vmeeting.audit import service as audit
from vmeeting.registry import service as registry
from vmeeting.registry import succession
from vmeeting.registry.models import AdminUnit, Endpoint
from vmeeting.core.text import N_
from vmeeting.auth.models import User

log = logging.getLogger(__name__)

#: a feed shows meetings that ended at most this long ago, and everything ahead
PAST_WINDOW = timedelta(days=30)
CACHE_SIZE = 512
#: in Vietnamese for messages; pages translate them (text.N_)
KIND_LABELS = {"endpoint": N_("Điểm cầu"), "technician": N_("Kỹ thuật viên"), "unit": N_("Đơn vị")}
#: what a feed of a target that does not exist is refused with, by kind
UNKNOWN_TARGET = {"endpoint": N_("Không có điểm cầu này."), "technician": N_("Không có kỹ thuật viên này."),
                  "unit": N_("Không có đơn vị này.")}


@dataclass(frozen=True)
class FeedBody:
    """A built feed: the bytes, their ETag and when its newest meeting changed."""

    body: bytes
    etag: str
    last_modified: datetime


#: {feed id: FeedBody} of the feeds built last, the least used dropped first
_cache = cachetools.LRUCache(maxsize=CACHE_SIZE)
_cache_lock = threading.Lock()


def hash_token(token):
    """Return the stored form of a feed token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_feed(kind, target_id, actor):
    """Create a feed and return (feed, token); the token is shown once and only its hash kept."""
    if kind not in FEED_KINDS:
        raise ValidationError({"kind": N_("Chọn loại lịch: điểm cầu, kỹ thuật viên hoặc đơn vị.")})
    model = {"endpoint": Endpoint, "technician": User, "unit": AdminUnit}[kind]
    target = db.session.get(model, target_id) if isinstance(target_id, int) else None
    if target is None or (kind == "technician" and target.role != "technician"):
        raise ValidationError({"target_id": UNKNOWN_TARGET[kind]})
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(kind=kind, token_hash=hash_token(token), prefix=token[:8],
                        created_by_id=getattr(actor, "id", None),
                        **{{"endpoint": "endpoint_id", "technician": "user_id", "unit": "unit_id"}[kind]: target.id})
    db.session.add(feed)
    db.session.flush()
    return feed, token


def revoke_feed(feed):
    """Revoke a feed: its address answers 404 from now on."""
    if feed.revoked_at is None:
        feed.revoked_at = utcnow()
    with _cache_lock:
        _cache.pop(feed.id, None)


def feed_for_token(token):
    """Return the live feed of a token, or None."""
    if not token or len(token) > 100:
        return None
    return db.session.scalar(sa.select(CalendarFeed).where(CalendarFeed.token_hash == hash_token(token),
                                                           CalendarFeed.revoked_at.is_(None)))


def feeds_select(user=None):
    """Select the feeds to list: all of them, or those of one technician."""
    query = sa.select(CalendarFeed).options(
        selectinload(CalendarFeed.endpoint), selectinload(CalendarFeed.user), selectinload(CalendarFeed.unit)
    ).order_by(CalendarFeed.revoked_at.is_not(None), CalendarFeed.created_at.desc())
    if user is not None:
        query = query.where(CalendarFeed.kind == "technician", CalendarFeed.user_id == user.id)
    return query


def _site_ids(feed):
    if feed.kind == "endpoint":
        return [feed.endpoint_id]
    if feed.kind == "technician":
        return sa.select(Endpoint.id).where(Endpoint.technician_id == feed.user_id)
    # today's sites of the unit; a former unit's, through its successors (a feed never goes silently empty)
    held = succession.site_unit_ids_on([feed.unit_id], to_local(utcnow()).date(), registry.descendant_ids_select)
    return sa.select(Endpoint.id).where(Endpoint.unit_id.in_(sorted(held)))


def former_units(feeds, today):
    """Return {feed id: [units it now resolves to]} of the unit feeds whose unit ended before today.

    A feed of Huyện Cao Lộc (ended 30/6/2025) shows the meetings of the sites of the communes that
    succeeded it (registry.succession.resolve_on); its page says which, and offers to name the successor
    instead when there is exactly one (follow_successor).
    """
    ended = [f for f in feeds if f.kind == "unit" and f.unit.valid_to is not None and f.unit.valid_to < today]
    resolved = succession.resolve_on({f.unit_id for f in ended}, today) if ended else {}
    return {f.id: resolved[f.unit_id] for f in ended}


def follow_successor(feed, today, actor=None):
    """Make a feed of a former unit name the one unit that succeeded it (its address stays); return that unit.

    Raises ValidationError on unit_id when the feed's unit has not ended or did not pass to exactly one
    unit valid today (a district split among communes keeps resolving to all of them).
    """
    found = former_units([feed], today).get(feed.id)
    if not found or len(found) != 1:
        raise ValidationError({"unit_id": N_("Lịch này không thể chuyển sang một đơn vị kế thừa duy nhất.")})
    before, feed.unit_id = feed.unit_id, found[0].id
    audit.record(actor, "update", "calendar_feed", feed.id, {"unit_id": [before, feed.unit_id]},
                 f"Lịch đăng ký chuyển sang {found[0].name}")
    with _cache_lock:
        _cache.pop(feed.id, None)
    db.session.flush()
    return found[0]


def _meeting_ids(feed, now):
    return (sa.select(meeting_endpoints.c.meeting_id)
            .where(meeting_endpoints.c.endpoint_id.in_(_site_ids(feed)),
                   meeting_endpoints.c.meeting_id.in_(
                       sa.select(Occurrence.meeting_id).where(Occurrence.ends_at > now - PAST_WINDOW))))


#: changes when the way a body is written changes, so a new release never answers 304 with an old body
BODY_VERSION = 2


def fingerprint(feed, now=None):
    """Return (etag, last_modified) of what the feed shows now, from a few aggregate queries.

    Everything the body is built from is in the ETag (module docstring).
    last_modified: when the feed last changed as its served ETag records it
    (`served_since`, written here when the ETag moves, `_remember_served`),
    whole seconds, aware UTC.
    """
    now = now or utcnow()
    meeting_ids = _meeting_ids(feed, now)
    count, last, sequences = db.session.execute(
        sa.select(sa.func.count(Meeting.id), sa.func.max(Meeting.updated_at), sa.func.sum(Meeting.sequence))
        .where(Meeting.id.in_(meeting_ids))
    ).one()
    # the feed's own sites, and the meetings' chair sites (named in every description); two statements,
    # as a unit's sites and its meetings each take the unit tree's CTE
    sites_changed = db.session.scalar(sa.select(sa.func.max(Endpoint.updated_at)).where(Endpoint.id.in_(_site_ids(feed))))
    chairs_changed = db.session.scalar(sa.select(sa.func.max(Endpoint.updated_at)).where(
        Endpoint.id.in_(sa.select(Meeting.chair_endpoint_id).where(Meeting.id.in_(meeting_ids)))))
    # the ORGANIZER's name: the booker's name and agency, which carry no time of change
    organizers = db.session.execute(
        sa.select(User.id, User.full_name, User.username, User.agency)
        .where(User.id.in_(sa.select(Meeting.organizer_id).where(Meeting.id.in_(meeting_ids))))
        .order_by(User.id)).all()
    last = max(filter(None, [last, sites_changed, chairs_changed, feed.created_at]))
    raw = "\n".join([f"{BODY_VERSION}:{feed.id}:{count}:{last.isoformat()}:{sequences}",
                     repr([tuple(row) for row in organizers]),
                     f"{current_app.config['MAIL_FROM']}:{current_app.config['TIMEZONE']}"])
    etag = f'"{hashlib.sha256(raw.encode()).hexdigest()[:32]}"'
    if feed.served_etag != etag:
        # first served: its newest change; changed since: now, and a second later than what a client may
        # hold (Last-Modified counts whole seconds)
        _remember_served(feed, etag, last if feed.served_etag is None else max(
            last, now, (feed.served_since or last).replace(microsecond=0) + timedelta(seconds=1)))
    return etag, (feed.served_since or last).replace(microsecond=0)


def _remember_served(feed, etag, since):
    """Record the feed's new ETag and since when, without turning the GET that serves it into a write.

    In a request that only reads: a short transaction of its own on another
    connection (database.writing, as auth.service.record_token_use does); the
    UPDATE names the old ETag, so processes racing over one change record it
    once. If it fails (a database too busy) the feed is served all the same,
    and the next request records it. Anywhere else (a writing request, the
    CLI, a test) the session's own transaction carries it; the caller commits.
    """
    if not read_only.get():
        feed.served_etag, feed.served_since = etag, since
        return
    old = feed.served_etag
    try:
        with writing(), db.engine.begin() as conn:
            conn.execute(sa.update(CalendarFeed).where(
                CalendarFeed.id == feed.id,
                CalendarFeed.served_etag.is_(None) if old is None else CalendarFeed.served_etag == old)
                .values(served_etag=etag, served_since=since))
    except sa.exc.OperationalError as exc:
        log.warning("feed %s: its new ETag was not recorded: %s", feed.id, exc.orig)
    # the object as the database now holds it, without marking it changed in this session
    set_committed_value(feed, "served_etag", etag)
    set_committed_value(feed, "served_since", since)


def feed_body(feed, now=None, known_fingerprint=None):
    """Return the feed's FeedBody, built again only if its meetings changed since the last build.

    known_fingerprint: `fingerprint(feed, now)` when the caller has just computed it (the view
    does, to answer 304), so a warm request runs its aggregate queries once, not twice.
    """
    etag, last_modified = known_fingerprint or fingerprint(feed, now)
    with _cache_lock:
        cached = _cache.get(feed.id)
        if cached is not None and cached.etag == etag:
            return cached
    built = FeedBody(_build(feed, now or utcnow()), etag, last_modified)
    with _cache_lock:
        _cache[feed.id] = built
    return built


def _build(feed, now):
    meetings = db.session.scalars(
        sa.select(Meeting).where(Meeting.id.in_(_meeting_ids(feed, now)), Meeting.status == "scheduled")
        .options(selectinload(Meeting.occurrences), selectinload(Meeting.chair), selectinload(Meeting.organizer))
        .order_by(Meeting.starts_at, Meeting.id)
    ).all()
    sites = {}
    if meetings:
        pairs = db.session.execute(
            sa.select(meeting_endpoints.c.meeting_id, Endpoint)
            .join(Endpoint, Endpoint.id == meeting_endpoints.c.endpoint_id)
            .where(meeting_endpoints.c.meeting_id.in_([m.id for m in meetings]),
                   Endpoint.id.in_(_site_ids(feed)))
            .order_by(Endpoint.name_sort_key)
        ).all()
        for meeting_id, endpoint in pairs:
            sites.setdefault(meeting_id, []).append(endpoint)
    entries = []
    for meeting in meetings:
        own = sites.get(meeting.id) or [meeting.chair]
        entries.append((meeting, meeting.occurrences, "; ".join(site_label(e) for e in own), feed_description(meeting)))
    return ical.feed_calendar(f"Lịch họp trực tuyến — {feed.subject}", entries, stamp=now)
