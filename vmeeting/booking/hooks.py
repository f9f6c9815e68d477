"""Booking's hooks: what the capabilities above it hear and tell (core/hooks.py), and its guard on the registry.

The hooks are filled from each capability's init_app (readiness, network,
attendance, invites), never on import. Booking announces its changes to
`change_listeners` (booking.changes); pages and the API ask `site_warnings`,
`roll_call_hints`, `site_conditions` and `sitting_summaries`, which merge what
every source registered says.
`guard_retire` is what booking adds to registry's retire_guards.
"""

import sqlalchemy as sa

from vmeeting.booking.models import Occurrence, Reservation
from vmeeting.core.database import utcnow
from vmeeting.core.errors import Conflict
from vmeeting.core.extensions import db
from vmeeting.core.hooks import Hook
from vmeeting.core.text import say
from vmeeting.core.timefmt import format_datetime

#: callables `listener(event, meeting, **details)` that other capabilities (invites,
#: readiness) connect from their init_app; called inside the booking's transaction, after its rows are flushed.
#: events: booked, updated (removed_endpoint_ids), cancelled, occurrence_cancelled,
#: occurrence_moved (occurrence), sitting_sites_removed (occurrence, removed_endpoint_ids: a displacement took
#: those sites off that one sitting of a series, booking.displacement), displaced (key, subject, text: the notice
#: to the meeting's booker that a higher-priority booking took its sites, to be mailed once per key)
change_listeners = Hook("booking.change_listeners")

#: callables `gate(event, meeting, actor, **details)` called by every change before change_listeners hear it,
#: inside its transaction (booking.approvals: a booking across scopes becomes pending, a change that matters
#: asks again); a gate may set the meeting's status and raise ValidationError to refuse the change
scope_gates = Hook("booking.scope_gates")

#: callables `held(event, meeting) -> bool`: whether the invites of this change must wait (booking.approvals:
#: a pending meeting); invites' change listener asks `invites_held` before it queues anything
invite_holds = Hook("booking.invite_holds")


def invites_held(event, meeting):
    """Tell whether any registered hold keeps this change's invites back (see invite_holds)."""
    return any(held(event, meeting) for held in invite_holds)


#: callables `source(endpoint_ids) -> [{endpoint_id, kind, message}]` that capabilities above
#: booking (network) add: what a booking should warn about its sites, never stopping it
warning_sources = Hook("booking.warning_sources")

#: callables `source(meeting) -> [{endpoint_id: None, kind, message}]` that capabilities above booking add
#: (documents: a giấy mời that may arrive late): what a booking should warn about the meeting itself, never
#: stopping it; asked after the booking's rows are flushed
meeting_warning_sources = Hook("booking.meeting_warning_sources")

#: callables `source(meeting) -> [(heading, text)]` that capabilities above booking add (documents: the issued
#: giấy mời, "Theo Giấy mời số 12/GM-UBND ngày 05/02/2027"): what the meeting's invites quote, after its title
invite_text_sources = Hook("booking.invite_text_sources")

#: callables `source(meeting) -> [(filename, bytes)]` that capabilities above booking add (documents: the
#: signed giấy mời's PDF, when the clerk asked): files every invite of the meeting carries
invite_attachment_sources = Hook("booking.invite_attachment_sources")


def meeting_warnings(meeting):
    """Return the warnings every registered source has about the meeting itself (CONTRACT.md `warnings`)."""
    warnings = []
    for source in meeting_warning_sources:
        warnings.extend(source(meeting))
    return warnings


def invite_texts(meeting):
    """Return the [(heading, text)] every registered source adds to the meeting's invites (see above)."""
    return [section for source in invite_text_sources for section in source(meeting)]


def invite_attachments(meeting):
    """Return the [(filename, bytes)] every registered source attaches to the meeting's invites (see above)."""
    return [item for source in invite_attachment_sources for item in source(meeting)]


#: callables `listener(endpoint, user, note, source, now)` that capabilities above booking (network)
#: add: someone reported a problem at a site (readiness: a technician's «Có sự cố»); called
#: inside the report's transaction
site_issue_listeners = Hook("booking.site_issue_listeners")


def report_site_issue(endpoint, user, note, source, now):
    """Tell every site-issue listener that user reported a problem at endpoint (see site_issue_listeners)."""
    for listener in site_issue_listeners:
        listener(endpoint, user, note, source, now)


def site_warnings(endpoint_ids):
    """Return the warnings every registered source has about these sites (CONTRACT.md `warnings`)."""
    warnings = []
    for source in warning_sources:
        warnings.extend(source(endpoint_ids))
    return warnings


#: callables `source(occurrence, endpoint_ids) -> {endpoint_id: (status, reason, at)}` that capabilities
#: above booking add (readiness, network): what a sitting's roll-call may be prefilled with, as of `at`
roll_call_hint_sources = Hook("booking.roll_call_hint_sources")


def roll_call_hints(occurrence, endpoint_ids):
    """Return {endpoint_id: (status, reason)}: for each site, the latest hint any source has (see above)."""
    latest = {}
    for source in roll_call_hint_sources:
        for endpoint_id, (status, reason, at) in source(occurrence, endpoint_ids).items():
            if endpoint_id not in latest or at > latest[endpoint_id][2]:
                latest[endpoint_id] = (status, reason, at)
    return {endpoint_id: (status, reason) for endpoint_id, (status, reason, _at) in latest.items()}


#: callables `source(endpoint_ids) -> {endpoint_id: {"state", "since", "last_seen_at", "incident"}}` that
#: capabilities above booking add (network): what is known of each site now, whatever the meeting: its
#: network state (up/down/unknown) since when, the last time it answered, and the title of an open
#: incident (or None). Readiness reads it for each site's one verdict; a site a source does not know is absent.
site_condition_sources = Hook("booking.site_condition_sources")


def site_conditions(endpoint_ids):
    """Return {endpoint_id: {state, since, last_seen_at, incident}} merged from every source (see above)."""
    merged = {}
    for source in site_condition_sources:
        for endpoint_id, condition in source(endpoint_ids).items():
            merged.setdefault(endpoint_id, {}).update(condition)
    return merged


#: callables `source(occurrence_ids) -> {occurrence_id: summary}` that capabilities above booking add
#: (readiness: `readiness.service.summaries`): each sitting's sites counted once by their verdict, so that
#: every page showing a sitting's counts (the network board, the meeting page) shows the same numbers
sitting_summary_sources = Hook("booking.sitting_summary_sources")


def sitting_summaries(occurrence_ids):
    """Return {occurrence_id: summary} from the registered source ({} when none is: readiness is not wired)."""
    found = {}
    for source in sitting_summary_sources:
        found.update(source(list(occurrence_ids)))
    return found


def guard_retire(endpoint):
    """Refuse to retire an endpoint booked in a meeting that has not ended."""
    upcoming = db.session.scalar(
        sa.select(Occurrence).join(Reservation).where(Reservation.endpoint_id == endpoint.id,
                                                      Occurrence.ends_at > utcnow()).limit(1)
    )
    if upcoming is not None:
        raise Conflict(say("Điểm cầu «%(site)s» đang có lịch họp «%(title)s» lúc %(when)s; hãy đổi điểm cầu của "
                           "cuộc họp trước.", site=endpoint.name, title=upcoming.meeting.title,
                           when=format_datetime(upcoming.starts_at)), meeting_id=upcoming.meeting_id)
