"""Calendar feeds: subscribable .ics of an endpoint, a technician or a unit, behind revocable tokens.

A feed is rebuilt only when what it shows changes: a cheap query gives a
fingerprint of its meetings (count, last change, sequences), which is the
ETag; the built body is kept per feed until the fingerprint moves.
"""

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import cachetools
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from vmeeting.booking.models import Meeting, Occurrence, meeting_endpoints
from vmeeting.core.database import utcnow
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


def fingerprint(feed, now=None):
    """Return (etag, last_modified) of what the feed shows now, from one aggregate query."""
    now = now or utcnow()
    count, last, sequences = db.session.execute(
        sa.select(sa.func.count(Meeting.id), sa.func.max(Meeting.updated_at), sa.func.sum(Meeting.sequence))
        .where(Meeting.id.in_(_meeting_ids(feed, now)))
    ).one()
    sites_changed = db.session.scalar(sa.select(sa.func.max(Endpoint.updated_at)).where(Endpoint.id.in_(_site_ids(feed))))
    last = max(filter(None, [last, sites_changed, feed.created_at]))
    raw = f"{feed.id}:{count}:{last.isoformat()}:{sequences}"
    return f'"{hashlib.sha256(raw.encode()).hexdigest()[:32]}"', last.replace(microsecond=0)


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
