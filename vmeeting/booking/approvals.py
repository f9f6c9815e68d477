"""Bookings across scopes: pending until each owning unit approves (issue 27; README "Scopes and approvals").

- `screen_change` is booking's scope gate (booking.hooks.scope_gates): a booking naming sites outside
  the booker's scope (booking.scopes) becomes `pending`, with one Approval row per approving unit; a
  change that matters (new times, sites added outside the scope) asks again only the units it touches
  (all the units outside the scope for new times; for added sites, their units); a change of title or
  description asks nobody.
- `invites_held` is booking's invite hold: a pending meeting queues no invite; when no approval is
  pending any more (`_settle`) the meeting is scheduled and the invites go out as for any booking
  (booked, or updated when invites had gone out before a change asked again).
- `decide` approves or refuses one unit's request under the meeting's row lock: the first decision
  stands, the others get Conflict (409) naming it. A refusal takes that unit's sites off every
  sitting; a refused chair site cancels the whole meeting (status cancelled, with the reason).
- `approval_listeners` hear of each request and decision inside its transaction; vmeeting.approvals
  (above booking) mails them through the outbox: approvers of a request, the booker of each decision.

These functions flush; the caller commits.
"""

import sqlalchemy as sa
from werkzeug.exceptions import Forbidden

from vmeeting.audit import service as audit
from vmeeting.booking import scopes
from vmeeting.booking.approval_models import Approval
from vmeeting.booking.models import Meeting, Occurrence, Reservation
from vmeeting.booking.queries import endpoint_ids_of
from vmeeting.booking.validation import MAX_REASON_LENGTH, hold_meeting
from vmeeting.core.database import utcnow
from vmeeting.core.errors import Conflict, ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.hooks import Hook
from vmeeting.core.text import N_, clean, say
from vmeeting.core.timefmt import format_datetime, to_local
from vmeeting.registry.models import Endpoint

#: the fields whose change asks the units again: the time the sites are held
TIME_FIELDS = ("starts_at", "ends_at", "recurrence", "setup_minutes")
DECISIONS = {"approve": "approved", "refuse": "refused"}
#: why a request still pending at the meeting's start is refused (`refuse_due`)
AUTO_REASON = N_("Quá giờ họp mà chưa được duyệt: tự động từ chối.")


#: callables `listener(event, meeting, rows)`: event "requested" (rows: the approvals asked, new or again) or
#: "decided" (rows: [the one decided]); connected by vmeeting.approvals, called inside the transaction
approval_listeners = Hook("booking.approval_listeners")


def _tell(event, meeting, rows):
    for listener in approval_listeners:
        listener(event, meeting, rows)


class NotApprover(Forbidden):
    """The user may not decide this unit's request (403)."""


def _day(meeting):
    return to_local(meeting.starts_at).date()


def rows_of(meeting):
    """The meeting's Approval rows in the order asked (the meeting page's list)."""
    return _rows(meeting)


def _rows(meeting):
    return db.session.scalars(sa.select(Approval).where(Approval.meeting_id == meeting.id)
                              .order_by(Approval.id)).all()


# -- the gate -------------------------------------------------------------------------------------


def screen_change(event, meeting, actor, **details):
    """booking's scope gate: ask the owning units of the sites outside actor's scope (see the module's rules).

    Raises ValidationError on endpoint_ids naming the first site no unit can answer for on the meeting's day.
    """
    if event not in ("booked", "updated", "occurrence_moved") or meeting.is_cancelled:
        return
    if event == "booked" and scopes.has_whole_province(actor):
        return  # the province office or an admin: nothing to ask, and a national booking pays nothing for it
    endpoint_ids = endpoint_ids_of(meeting)
    day = _day(meeting)
    outside = scopes.out_of_scope(actor, endpoint_ids, day)
    rows = {row.unit_id: row for row in _rows(meeting)} if event != "booked" else {}
    if not outside and not rows:
        return
    try:
        asked = scopes.approving_units(outside, day)
    except scopes.Unresolved as exc:
        site = db.session.get(Endpoint, exc.endpoint_ids[0])
        raise ValidationError({"endpoint_ids": say(
            "Điểm cầu «%(site)s» không thuộc đơn vị nào có hiệu lực ngày %(day)s: không ai duyệt được; hãy cập nhật "
            "đơn vị của điểm cầu.", site=site.name, day=day.strftime("%d/%m/%Y"))})
    changes = details.get("changes") or {}
    new_times = event == "occurrence_moved" or any(name in changes for name in TIME_FIELDS)
    current = set(endpoint_ids)
    # the meeting's invites went out before this change: a scheduled meeting changed (not a new booking), or
    # a row asked after its invites already says so
    invited = (event != "booked" and meeting.status == "scheduled") or _was_invited(meeting)
    touched = []
    for unit_id, sites in asked.items():
        row = rows.get(unit_id)
        if row is None:
            row = Approval(meeting_id=meeting.id, unit_id=unit_id, endpoint_ids=sites, invites_sent=invited,
                           requested_by_id=getattr(actor, "id", None), requested_at=utcnow(), round=1)
            db.session.add(row)
            touched.append(row)
            continue
        added = set(sites) - set(row.endpoint_ids or ())
        if event == "booked" or new_times or added:
            row.round += 1  # a new round: its mails are news again (their keys name it)
            row.invites_sent = row.invites_sent or invited
            row.status, row.decided_by_id, row.decided_at, row.reason = "pending", None, None, None
            row.requested_by_id, row.requested_at = getattr(actor, "id", None), utcnow()
            touched.append(row)
        # the sites it answers for: what it was asked, less the sites the change took off, plus the new
        row.endpoint_ids = [i for i in endpoint_ids if i in set(sites) | (set(row.endpoint_ids or ()) & current)]
    for row in rows.values():
        if row.unit_id not in asked:
            row.endpoint_ids = [i for i in row.endpoint_ids or () if i in current]
            if not row.endpoint_ids and row.status == "pending":
                db.session.delete(row)  # the change took all its sites off: nothing left to ask
    db.session.flush()
    if touched:
        for row in touched:
            audit.record(actor, "request", "approval", row.id, {"unit_id": [None, row.unit_id],
                                                                 "round": [None, row.round]},
                         f"Xin duyệt {len(row.endpoint_ids)} điểm cầu cho «{meeting.title}»")
        _tell("requested", meeting, touched)
    still = any(r.status == "pending" for r in _rows(meeting))
    if still and meeting.status == "scheduled":
        meeting.status = "pending"
    elif not still and meeting.status == "pending":
        meeting.status = "scheduled"  # the change took off the last sites waiting: the invites go with it
    db.session.flush()


def invites_held(event, meeting):
    """booking's invite hold: a pending meeting's changes queue no invite; a meeting cancelled before any
    invite went out (a refused chair, a request withdrawn) queues no CANCEL either."""
    if meeting.status == "pending":
        return True
    if event == "cancelled" and not _was_invited(meeting):
        # asked from its booking on and never scheduled since: nobody holds an invite to cancel
        return db.session.scalar(sa.select(sa.func.count()).select_from(Approval)
                                 .where(Approval.meeting_id == meeting.id)) > 0
    return False


def _was_invited(meeting):
    """Tell whether the meeting's invites have gone out (`Approval.invites_sent` on any of its rows): it was
    scheduled when a change asked, or a round of approvals was settled."""
    return db.session.scalar(sa.select(Approval.id).where(Approval.meeting_id == meeting.id,
                                                          Approval.invites_sent.is_(True)).limit(1)) is not None


# -- deciding -------------------------------------------------------------------------------------


def decide(meeting, unit_id, user, decision, reason=None, *, now=None):
    """Approve or refuse unit_id's request for the meeting as user; return the Approval.

    decision: "approve" or "refuse"; reason: required to refuse (up to MAX_REASON_LENGTH), optional to
    approve. user None: the automatic refusal at the start (`refuse_due`). Under the meeting's row lock
    (`hold_meeting`), so of many racing deciders one decides. Raises ValidationError (decision, reason),
    NotApprover (403: not an approver of that unit, the booker included), booking's NotFound-like
    Conflict when the meeting has no request of that unit, Conflict (409, details `approval`: its state)
    when it is already decided or the meeting is no longer pending.
    """
    if decision not in DECISIONS:
        raise ValidationError({"decision": N_("Chọn duyệt (approve) hoặc từ chối (refuse).")})
    if reason is not None and not isinstance(reason, str):
        raise ValidationError({"reason": N_("Phải là một chuỗi ký tự.")})
    reason = clean(reason) or None
    if decision == "refuse" and not reason:
        raise ValidationError({"reason": N_("Nhập lý do từ chối.")})
    if reason and len(reason) > MAX_REASON_LENGTH:
        raise ValidationError({"reason": say("Lý do tối đa %(most)s ký tự.", most=MAX_REASON_LENGTH)})
    now = now or utcnow()
    if user is not None and not scopes.may_decide(user, unit_id, _day(meeting)):
        raise NotApprover(N_("Bạn không duyệt cho đơn vị này."))
    hold_meeting(meeting)
    row = db.session.scalar(sa.select(Approval).where(Approval.meeting_id == meeting.id, Approval.unit_id == unit_id)
                            .with_for_update().execution_options(populate_existing=True))
    if row is None:
        raise ApprovalNotFound(meeting.id, unit_id)
    if row.status != "pending" or meeting.status != "pending":
        raise Conflict(say("Yêu cầu này đã được xử lý: %(state)s.", state=state_words(row, meeting)),
                       approval=approval_json(row))
    row.status = DECISIONS[decision]
    row.decided_by_id, row.decided_at, row.reason = getattr(user, "id", None), now, reason
    db.session.flush()
    audit.record(user, decision, "approval", row.id, {"status": ["pending", row.status]},
                 f"{'Duyệt' if decision == 'approve' else 'Từ chối'} «{meeting.title}» cho {row.unit.name}"
                 + (f": {reason}" if reason else ""))
    if decision == "refuse":
        _take_off(meeting, row, user)
    if not meeting.is_cancelled:
        _settle(meeting, user)
    _tell("decided", meeting, [row])  # after settling: the booker's mail says whether the invites went out
    return row


class ApprovalNotFound(Exception):
    """The meeting has no request of that unit (404)."""


def _take_off(meeting, row, user):
    """Take the refused unit's sites off every sitting of the meeting; cancel it when its chair is among them."""
    from vmeeting.booking import changes  # booking.changes' own writes of a meeting's sites (it imports the hooks)

    refused = set(row.endpoint_ids or ())
    if meeting.chair_endpoint_id in refused:
        reason = str(say("Điểm cầu chủ tọa bị từ chối: %(reason)s", reason=row.reason))
        changes.cancel_meeting(meeting, user, reason=reason[:MAX_REASON_LENGTH])
        return
    before = endpoint_ids_of(meeting)
    occurrence_ids = sa.select(Occurrence.id).where(Occurrence.meeting_id == meeting.id).scalar_subquery()
    db.session.execute(sa.delete(Reservation).where(Reservation.occurrence_id.in_(occurrence_ids),
                                                    Reservation.endpoint_id.in_(sorted(refused))))
    remaining = db.session.scalars(sa.select(Endpoint).where(Endpoint.id.in_([i for i in before if i not in refused]))).all()
    changes._write_sites(meeting, remaining, before_ids=before)
    meeting.sequence += 1
    db.session.flush()
    audit.record(user, "update", "meeting", meeting.id, {"endpoints": [len(before), len(remaining)],
                                                          "endpoints_removed": [None, len(before) - len(remaining)]},
                 f"Bỏ {len(before) - len(remaining)} điểm cầu bị từ chối khỏi «{meeting.title}»")


def _settle(meeting, user):
    """Schedule the meeting and send its invites when no approval is pending any more."""
    rows = _rows(meeting)
    if meeting.status != "pending" or any(r.status == "pending" for r in rows):
        return
    from vmeeting.booking.hooks import change_listeners

    meeting.status = "scheduled"
    invited = _was_invited(meeting)
    for row in rows:
        row.invites_sent = True  # they go out now
    db.session.flush()
    audit.record(user, "update", "meeting", meeting.id, {"status": ["pending", "scheduled"]},
                 f"«{meeting.title}» đã được duyệt đủ: gửi giấy mời")
    if invited:
        current = set(endpoint_ids_of(meeting))
        removed = sorted({i for r in rows if r.status == "refused" for i in r.endpoint_ids or ()} - current)
        event, details = "updated", {"removed_endpoint_ids": removed}
    else:
        event, details = "booked", {}
    for listener in change_listeners:
        listener(event, meeting, **details)


def refuse_due(now=None):
    """Refuse automatically every request still pending when its meeting starts; return how many.

    Each meeting in its own transaction (committed here), so one that fails leaves the others decided.
    The booker is told (approval_listeners: vmeeting.approvals mails them, once per request and round).
    """
    now = now or utcnow()
    due = db.session.execute(sa.select(Approval.meeting_id, Approval.unit_id).join(Meeting).where(
        Approval.status == "pending", Meeting.status == "pending", Meeting.starts_at <= now)
        .order_by(Approval.meeting_id, Approval.id)).all()
    db.session.commit()
    refused = 0
    for meeting_id, unit_id in due:
        meeting = db.session.get(Meeting, meeting_id)
        try:
            decide(meeting, unit_id, None, "refuse", str(AUTO_REASON), now=now)
            db.session.commit()
            refused += 1
        except Conflict:  # decided meanwhile, by a person or another worker
            db.session.rollback()
    return refused


# -- reading --------------------------------------------------------------------------------------


def state_words(row, meeting=None):
    """A request's state in a sentence: who decided what, when (for a 409 and the pages)."""
    if meeting is not None and meeting.is_cancelled and row.status == "pending":
        return say("cuộc họp đã bị hủy")
    if row.status == "pending":
        return say("đang chờ duyệt")
    who = row.decided_by.display_name if row.decided_by is not None else say("hệ thống")
    words = say("đã duyệt") if row.status == "approved" else say("đã từ chối")
    return say("%(who)s %(what)s lúc %(when)s", who=who, what=words,
               when=format_datetime(row.decided_at) if row.decided_at else "")


def approval_json(row):
    """One approval as the API shows it: {unit_id, unit_name, status, endpoint_ids, round, requested_at,
    decided_by, decided_at, reason}; decided_by is the user's id, None while pending (or decided by the
    automatic refusal)."""
    return {"unit_id": row.unit_id, "unit_name": row.unit.name if row.unit is not None else None,
            "status": row.status, "endpoint_ids": list(row.endpoint_ids or ()), "round": row.round,
            "requested_at": row.requested_at.isoformat() if row.requested_at else None,
            "decided_by": row.decided_by_id, "decided_at": row.decided_at.isoformat() if row.decided_at else None,
            "reason": row.reason}


def approvals_of(meeting):
    """The meeting's approvals as the API shows them, in the order asked ([] for a booking within scope)."""
    if meeting.id is None:
        return []
    return [approval_json(row) for row in _rows(meeting)]


def inbox_select(user, status="pending"):
    """Select the Approval rows user may decide, of meetings still pending (status "pending"), or all the
    requests they could decide (status None), soonest meeting first."""
    units = scopes.decidable_unit_ids(user, None)
    query = sa.select(Approval).join(Meeting, Meeting.id == Approval.meeting_id)
    if units is not None:
        query = query.where(Approval.unit_id.in_(sorted(units) or [-1]))
    if status == "pending":
        query = query.where(Approval.status == "pending", Meeting.status == "pending")
    elif status is not None:
        query = query.where(Approval.status == status)
    return query.order_by(Meeting.starts_at, Approval.id)


def pending_count(user):
    """How many requests wait for user's decision (the menu's badge); 0 for users who approve nothing."""
    if not scopes.is_approver(user):
        return 0
    return db.session.scalar(sa.select(sa.func.count()).select_from(inbox_select(user).subquery()))
