"""Booking pages: the list, the calendar, the booking form, the meeting page."""

import threading
from datetime import date, datetime, time, timedelta, timezone

import cachetools
import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import joinedload, selectinload

from vmeeting.audit import service as audit
from vmeeting.audit.models import AuditEvent
from vmeeting.auth.guards import permission_required
from vmeeting.booking import approvals, displacement, export, priority, rehearsal, scopes, service, slots
from vmeeting.booking.conflicts import busy_meetings
from vmeeting.booking.forms import MeetingForm
from vmeeting.booking.history import describe
from vmeeting.booking.models import Meeting, Occurrence
from vmeeting.core.bounds import query_date, query_page
from vmeeting.core.database import utcnow
from vmeeting.core.errors import Conflict, NonWorkingTime, StaleEdit, ValidationError
from vmeeting.core.extensions import db
from vmeeting.core.spreadsheet import XLSX_MIMETYPE
from vmeeting.core.text import fold, shown
from vmeeting.core.timefmt import local_to_utc, to_local

#: the vendored Tom Select (static/vendor/tom-select/README.md): in its URLs, so a refresh busts browser caches
TOM_SELECT_VERSION = "2.6.2"
#: a booking's page lists this many warnings about its sites, then counts the rest
SHOWN_WARNINGS = 5
#: a meeting page shows the sites and invites of a meeting this small in place, a larger one's once loaded
INLINE_SITES = 30
#: the sittings of a series the meeting page lists unless asked for all (`sittings_window`)
SITTINGS_SHOWN = 10

bp = Blueprint("booking", __name__)

PER_PAGE = 30
#: the meeting list counts this many at most; past it its total reads "10.000+"
COUNTED = 10_000
SUGGESTION_DAYS = 30
#: where a service field's error shows on the booking form
FORM_FIELD_OF = {"starts_at": "start_time", "ends_at": "end_time", "recurrence": "frequency",
                 "unit_ids": "unit_ids", "group_ids": "group_ids", "endpoint_ids": "endpoint_ids"}


def _get_occurrence(meeting, occurrence_id):
    occurrence = db.session.get(Occurrence, occurrence_id)
    if occurrence is None or occurrence.meeting_id != meeting.id:
        abort(404)
    return occurrence


def _show_errors(form, exc):
    """Put a service's field errors, in the page's language, on the form fields a person sees."""
    for name, reason in exc.fields.items():
        field = getattr(form, FORM_FIELD_OF.get(name, name), None) or form.title
        field.errors = list(field.errors) + [shown(reason)]


def _said(exc):
    """A service error's message and details as a page shows them: the message and the sittings' reasons
    in the page's language (`text.shown`)."""
    details = dict(exc.details)
    if details.get("changes"):  # a StaleEdit's changes made meanwhile, each with its old and new values
        details["changes"] = [{**change, "details": [shown(line) for line in change.get("details") or ()]}
                              for change in details["changes"]]
    if details.get("sittings"):
        details["sittings"] = [{**sitting, "reason": shown(sitting.get("reason"))} for sitting in details["sittings"]]
    return {"message": shown(exc.message), **details}


def _apply_slot(form):
    """If a suggested slot was picked, move the form's day and times to it, keeping the length.

    The typed text (raw_data) moves too: it is what the page shows again if the slot is refused.
    """
    picked = request.form.get("slot")
    if not picked or not (form.day.data and form.start_time.data and form.end_time.data):
        return
    try:
        start = datetime.strptime(picked, "%Y-%m-%dT%H:%M")
    except ValueError:
        return
    length = datetime.combine(date.min, form.end_time.data) - datetime.combine(date.min, form.start_time.data)
    end = start + length
    form.day.data, form.start_time.data, form.end_time.data = start.date(), start.time(), end.time()
    form.day.raw_data = [start.strftime("%d/%m/%Y")]
    form.start_time.raw_data, form.end_time.raw_data = [start.strftime("%H:%M")], [end.strftime("%H:%M")]


def _suggestions(form, choice, meeting=None):
    """The next free slots for the chosen sites, from the day asked for.

    When editing, the meeting's own reservations do not count: its own time is free for it.
    """
    starts_at, ends_at = form.instants()
    day_start = local_to_utc(datetime.combine(form.day.data, time.min))
    found = slots.find_slots(choice.endpoints, ends_at - starts_at, max(day_start, utcnow()),
                             day_start + timedelta(days=SUGGESTION_DAYS), limit=6,
                             setup_minutes=form.setup_minutes.data, meeting_bridge_id=form.bridge_id.data,
                             ignore_meeting_id=meeting.id if meeting is not None else None)
    return [to_local(start) for start, _end in found]


def _booking_form_page(form, meeting=None):
    """Handle the booking form for a new meeting or an edit: preview, book, or pick a way on.

    Booking runs the service's rules once; when they leave sittings of a series
    out (holidays, busy sites) or warn about the rule, nothing is kept until the
    person has seen the list and confirmed (action "confirm").
    """
    context = {"form": form, "meeting": meeting, "choice": None, "conflict": None, "suggestions": [],
               "searched_slots": False, "plan": None, "non_working": None, "stale": None, "slot_review": None,
               "recurrence_text": service.recurrence_text(meeting) if meeting is not None else "",
               "fold": fold, "tom_select_version": TOM_SELECT_VERSION, "priority_labels": priority.LABELS}
    if request.method != "POST":
        return render_template("booking/form.html", **context)
    # a suggested slot is reviewed before it is booked: the time asked, the slot, the people told
    asked = form.when_text() if request.form.get("slot") else None
    _apply_slot(form)
    if not form.validate():
        return render_template("booking/form.html", **context), 400
    if not form.has_sites() and meeting is None:
        form.endpoint_ids.errors = list(form.endpoint_ids.errors) + [_("Chọn ít nhất một điểm cầu, đơn vị hoặc nhóm.")]
        return render_template("booking/form.html", **context), 400
    action = request.form.get("action", "book")
    try:
        choice = service.resolve_sites(**form.site_args(), meeting=meeting) if form.has_sites() else None
        context["choice"] = choice
        if action == "preview":
            return render_template("booking/form.html", **context)
        if action == "slots" and choice is not None:
            context["suggestions"] = _suggestions(form, choice, meeting)
            context["searched_slots"] = True
            return render_template("booking/form.html", **context)
        choices = form.booking_choices(action)
        if choices.allow_non_working_time:
            form.allow_non_working_time.data = True  # kept ticked through the confirmation
        mark = rehearsal.outbox_mark()
        if meeting is None:
            meeting = service.book_meeting(form.meeting_fields(), choice, actor=current_user, choices=choices)
            message = ngettext("Đã đặt lịch «%(title)s» cho %(num)s điểm cầu.",
                               "Đã đặt lịch «%(title)s» cho %(num)s điểm cầu.", meeting.endpoint_count,
                               title=meeting.title)
        else:
            service.update_meeting(meeting, form.meeting_fields(), choice, actor=current_user, choices=choices,
                                   # no version (a page from before versions, a script): treated as stale,
                                   # so a save never lands over a change its sender did not see
                                   expected_version=form.version.data or "unknown")
            message = _("Đã cập nhật «%(title)s».", title=meeting.title)
        if asked is not None:
            context["slot_review"] = {"old": asked, "new": form.when_text(),
                                      "recipients": rehearsal.recipients_since(mark, meeting.id)}
        warning = service.recurrence_warning(meeting)
        if context["slot_review"] or (meeting.skipped or warning) and action != "confirm":
            # shown before anything is kept: the person confirms the series as it will be
            skipped = [{**item, "reason": shown(item["reason"])} for item in meeting.skipped]
            context["plan"] = {"skipped": skipped, "warning": warning,
                               "text": service.recurrence_text(meeting),
                               "sittings": [o.starts_at for o in meeting.sittings_held]
                               } if meeting.skipped or warning else None
            db.session.rollback()
            if context["meeting"] is not None:
                db.session.refresh(context["meeting"])
            return render_template("booking/form.html", **context)
        # read before the commit: after it, a failed read would show an error page for a stored booking
        meeting_id = meeting.id
        if meeting.status == "pending":  # issue 27: sites outside the booker's scope wait for their units
            message = _("«%(title)s» đang chờ duyệt: có điểm cầu ngoài phạm vi của bạn; các điểm cầu được giữ, "
                        "giấy mời gửi đi khi các đơn vị sở hữu duyệt xong.", title=meeting.title)
        # the meeting's own (documents: a late giấy mời) first, then its sites' state (network)
        warnings = service.meeting_warnings(meeting) + service.site_warnings(service.endpoint_ids_of(meeting))
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        _show_errors(form, exc)
        return render_template("booking/form.html", **context), 400
    except StaleEdit as exc:
        db.session.rollback()
        # the next save is the person's choice, made knowing what changed
        form.version.data = exc.details.get("version")
        context["stale"] = _said(exc)
        return render_template("booking/form.html", **context), 409
    except NonWorkingTime as exc:
        db.session.rollback()
        context["non_working"] = _said(exc)
        return render_template("booking/form.html", **context), 409
    except Conflict as exc:
        db.session.rollback()
        meeting = context["meeting"]
        context["conflict"] = _said(exc)
        context["conflict"]["busy"] = busy_meetings(exc.details.get("conflicts") or [])
        if exc.details.get("displaceable"):
            # the way out that takes the sites: its confirmation names every sitting that gives way
            context["conflict"]["displace"] = displacement.preview(context["conflict"]["busy"])
            form.displace_meeting_ids.data = ",".join(str(b["meeting_id"]) for b in context["conflict"]["busy"])
        busy = {c["endpoint_id"] for c in exc.details.get("conflicts") or []}
        context["conflict"]["chair_busy"] = form.chair_endpoint_id.data in busy
        if context["choice"] is not None:
            context["suggestions"] = _suggestions(form, context["choice"], meeting)
        return render_template("booking/form.html", **context), 409
    flash(message, "success")
    for warning in warnings:  # the meeting's own (a late giấy mời): each shown, never among the sites' few
        if warning.get("endpoint_id") is None:
            flash(shown(warning["message"]), "warning")
    warnings = list(dict.fromkeys(warning["message"] for warning in warnings  # alike sites read alike: once
                                  if warning.get("endpoint_id") is not None))
    for warning in warnings[:SHOWN_WARNINGS]:
        flash(shown(warning), "warning")
    if len(warnings) > SHOWN_WARNINGS:
        flash(ngettext("… và %(num)s cảnh báo khác về các điểm cầu (xem trang Mạng, Sự cố).",
                       "… và %(num)s cảnh báo khác về các điểm cầu (xem trang Mạng, Sự cố).",
                       len(warnings) - SHOWN_WARNINGS), "warning")
    return redirect(url_for("booking.show", meeting_id=meeting_id))


@bp.route("/meetings/new", methods=["GET", "POST"])
@permission_required("meetings.book")
def create():
    """Book a meeting across sites."""
    form = MeetingForm(user=current_user)
    if request.method == "GET":
        form.setup_minutes.data = 30
        _prefill_time(form)
    return _booking_form_page(form)


def _prefill_time(form):
    """Fill the day and times a link names (?day=YYYY-MM-DD&start=HH:MM&end=HH:MM, the calendar's click).

    A value that does not parse is left out: the form shows its field empty.
    """
    try:
        form.day.data = query_date(request.args.get("day", ""))
    except ValueError:
        return
    for name in ("start", "end"):
        try:
            value = datetime.strptime(request.args.get(name, ""), "%H:%M").time()
        except ValueError:
            continue
        getattr(form, f"{name}_time").data = value


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@permission_required("meetings.book")
def edit(meeting_id):
    """Reschedule a meeting or change its sites, under the same rules."""
    meeting = db.get_or_404(Meeting, meeting_id)
    if meeting.is_cancelled:
        flash(_("Cuộc họp đã bị hủy, không thể sửa."), "warning")
        return redirect(url_for("booking.show", meeting_id=meeting.id))
    form = MeetingForm(meeting=meeting, user=current_user)
    if request.method == "GET":
        form.fill_from(meeting)
        form.version.data = service.version_of(meeting)
    return _booking_form_page(form, meeting)


@bp.get("/meetings")
@permission_required("meetings.view")
def meetings():
    """List meetings with a search and a status filter."""
    q, status, upcoming, query = _list_query()
    page = request.args.get("page", 1, type=query_page)
    # counted up to COUNTED and no further: the country's list holds some 80,000 upcoming meetings,
    # which a search narrows; counting them all cost more than the page itself
    total = db.session.scalar(sa.select(sa.func.count()).select_from(
        query.order_by(None).limit(COUNTED + 1).subquery()))
    rows = db.session.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    next_sittings = _next_sittings([m.id for m in rows])
    counted = min(total, COUNTED)
    return render_template("booking/list.html", meetings=rows, total=counted, more=total > COUNTED, page=page,
                           pages=max((counted + PER_PAGE - 1) // PER_PAGE, page, 1), q=q, status=status,
                           upcoming=upcoming, next_sittings=next_sittings)


@bp.get("/meetings.xlsx")
@permission_required("meetings.view")
def meetings_download():
    """Download the meetings the list's filters select (q, status, when) as Excel, at most export.MAX_ROWS."""
    q, status, upcoming, query = _list_query()
    rows = db.session.scalars(query.options(selectinload(Meeting.organizer)).limit(export.MAX_ROWS)).all()
    words = [_("Sắp diễn ra") if upcoming else _("Mọi thời gian"),
             {"scheduled": _("Đã lên lịch"), "cancelled": _("Đã hủy")}.get(status, _("Mọi trạng thái"))]
    if q:
        words.append(f"«{q}»")
    caption = f"{_('Cuộc họp')} ({', '.join(words)}) · {to_local(utcnow()):%d/%m/%Y %H:%M}"
    name = f"cuoc-hop-{to_local(utcnow()):%Y%m%d-%H%M}.xlsx"
    return Response(export.meetings_xlsx(rows, _next_sittings([m.id for m in rows]), caption),
                    mimetype=XLSX_MIMETYPE, headers={"Content-Disposition": f"attachment; filename={name}"})


def _list_query():
    """Read the list's filters (q, status, when) and return them with the Select of its rows, in the list's order."""
    q = request.args.get("q", "").strip()
    status = request.args.get("status") if request.args.get("status") in ("scheduled", "pending", "cancelled") else None
    upcoming = request.args.get("when", "upcoming") == "upcoming"
    query = service.meetings_select(q=q, status=status, window_from=utcnow() if upcoming else None)
    query = scopes.narrow_for_viewer(query, current_user)  # a viewer attached to a unit: that unit's meetings
    if upcoming:
        query = query.order_by(None).order_by(Meeting.starts_at, Meeting.id)
    return q, status, upcoming, query


def _next_sittings(meeting_ids):
    """Return {meeting_id: the next scheduled occurrence's start} in one query."""
    if not meeting_ids:
        return {}
    rows = db.session.execute(
        sa.select(Occurrence.meeting_id, sa.func.min(Occurrence.starts_at))
        .where(Occurrence.meeting_id.in_(meeting_ids), Occurrence.status == "scheduled",
               Occurrence.ends_at > utcnow())
        .group_by(Occurrence.meeting_id)).all()
    return dict(rows)


@bp.get("/meetings/<int:meeting_id>")
@permission_required("meetings.view")
def show(meeting_id):
    """The meeting: when, who chairs, its sites by district, its sittings and its history.

    A meeting of more than INLINE_SITES sites leaves its sites and its invites
    panel to sections the page fetches once shown (sites_section,
    invites_section): the page itself costs the same for 5 sites as for 10,000.
    Its body is then kept per process while it would read the same
    (`meeting_body`): the page most opened before a national meeting reads
    one row of the database, and renders only the menu around the body.
    """
    meeting = db.get_or_404(Meeting, meeting_id, options=[joinedload(Meeting.chair), joinedload(Meeting.organizer),
                                                          joinedload(Meeting.bridge)])
    return render_template("booking/show.html", meeting=meeting, body=meeting_body(meeting),
                           approval_rows=approvals.rows_of(meeting), approval_state=approvals.state_words)


BODIES_KEPT = 256
#: {what the body shows (`_body_key`): (its HTML, the instant it stops being true)}, per process, the least
#: used dropped first, an entry gone at its instant (utcnow is read through this module, as the view reads it)
_bodies = cachetools.TLRUCache(maxsize=BODIES_KEPT, ttu=lambda _key, kept, _now: kept[1], timer=lambda: utcnow())
_bodies_lock = threading.Lock()


def _body_key(meeting, every_sitting):
    """What a meeting page's body depends on, besides time: the meeting as changed (every change of it or of
    a sitting writes its row: SEQUENCE, updated_at), the names it shows of others, the reader's role and
    language, and which sittings were asked for."""
    return (meeting.id, meeting.sequence, meeting.updated_at, meeting.status, meeting.endpoint_count,
            meeting.chair.name, meeting.organizer.display_name if meeting.organizer else None,
            meeting.bridge.name if meeting.bridge else None, current_user.role, str(get_locale()), every_sitting)


def meeting_body(meeting):
    """Return the meeting page's body as Markup: kept while its key holds and no sitting starts or ends.

    A meeting of INLINE_SITES sites or fewer shows its sites and its invites
    panel (answers, forms) in place: its body is rendered every time.
    """
    now = utcnow()
    inline = meeting.endpoint_count <= INLINE_SITES
    every_sitting = request.args.get("sittings") == "all"
    key = None if inline else _body_key(meeting, every_sitting)
    if key is not None:
        with _bodies_lock:
            found = _bodies.get(key)
        if found is not None:
            return found[0]
    occurrences = meeting.occurrences
    events = db.session.scalars(audit.history("meeting", meeting.id, parts={"occurrence": [o.id for o in occurrences]})
                                .limit(50).options(selectinload(AuditEvent.actor))).all()
    # each event with its old and new values in the page's language (booking.history)
    history = [(event, [shown(line) for line in describe(event.changes or {})]) for event in events]
    body = Markup(render_template(
        "booking/_meeting_body.html", meeting=meeting, inline=inline,
        districts=service.sites_by_district(meeting) if inline else None, history=history, now=now,
        counts=service.site_counts(meeting),
        recurrence_text=service.recurrence_text(meeting), recurrence_warning=service.recurrence_warning(meeting),
        sittings=occurrences if every_sitting else sittings_window(occurrences, now),
        may_book=current_user.can("meetings.book")))
    if key is not None:
        # the links of a sitting change when it starts (the roll-call) and when it ends (move, cancel)
        changes = [t for o in occurrences for t in (o.starts_at, o.ends_at) if t > now]
        with _bodies_lock:
            _bodies[key] = (body, min(changes, default=datetime.max.replace(tzinfo=timezone.utc)))
    return body


def sittings_window(occurrences, now, shown=SITTINGS_SHOWN):
    """Return the sittings a series' page lists by default: the last one begun, then the next ones.

    occurrences: in time order. At most `shown`: a weekly series over two
    years has a hundred sittings, and the page lists what a person acts on
    (the roll-call of the one just held, moving or cancelling the next);
    the page links to the whole list.
    """
    upcoming = next((i for i, o in enumerate(occurrences) if o.ends_at > now), len(occurrences))
    first = max(0, min(upcoming - 1, len(occurrences) - shown))
    return occurrences[first:first + shown]


@bp.get("/meetings/<int:meeting_id>/sites")
@permission_required("meetings.view")
def sites_section(meeting_id):
    """The meeting page's sites by district, as the HTML section the page fetches when it is opened."""
    meeting = db.get_or_404(Meeting, meeting_id)
    return render_template("booking/_meeting_sites.html", meeting=meeting, districts=service.sites_by_district(meeting))


@bp.get("/meetings/<int:meeting_id>/invites-panel")
@permission_required("meetings.view")
def invites_section(meeting_id):
    """The meeting page's invites panel (answers, mail), as the HTML section a large meeting's page fetches.

    The panel is the invites capability's template and data (its context processor); the meeting page
    includes it the same way when it renders it in place.
    """
    meeting = db.get_or_404(Meeting, meeting_id)
    return render_template("invites/_meeting_panel.html", meeting=meeting)


@bp.get("/meetings/<int:meeting_id>/print")
@permission_required("meetings.view")
def print_sites(meeting_id):
    """The sites of a meeting for paper: by district, each with its technician and phone (a print stylesheet)."""
    meeting = db.get_or_404(Meeting, meeting_id)
    return render_template("booking/print.html", meeting=meeting, districts=service.sites_by_district(meeting),
                           recurrence_text=service.recurrence_text(meeting))
