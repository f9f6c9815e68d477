"""The meeting list as an Excel workbook: the rows the list's filters select, one a meeting."""

from flask_babel import gettext as _

from vmeeting.core.spreadsheet import TIME_FORMAT, Sheet, xlsx_bytes

#: the most meetings one download holds (far above a province's year); the list says how to narrow it
MAX_ROWS = 10000


def meetings_xlsx(meetings, next_sittings, caption):
    """Return the meetings as an .xlsx's bytes.

    meetings: Meeting rows in the list's order; next_sittings: {meeting_id: the
    next scheduled start} (the list's "next sitting" column, the first start
    when none is left); caption: the filters, in words. The instants are typed
    date-time cells in local time (dd/mm/yyyy hh:mm; the end shows hh:mm and
    holds its date too), so the sheet sorts and filters them as dates; text
    cells are never formulas (spreadsheet.xlsx_bytes).
    """
    header = [_("Cuộc họp"), _("Buổi tới"), _("Bắt đầu"), _("Kết thúc"), _("Lặp lại"), _("Chủ tọa"),
              _("Số điểm cầu"), _("Trạng thái"), _("Người đặt")]
    rows = []
    for meeting in meetings:
        coming = next_sittings.get(meeting.id)
        rows.append([
            meeting.title,
            coming,
            meeting.starts_at,
            meeting.ends_at,
            _("có") if meeting.recurrence else "",
            meeting.chair.name if meeting.chair else "",
            meeting.endpoint_count,
            _("Đã hủy") if meeting.is_cancelled else _("Đã lên lịch"),
            meeting.organizer.display_name if meeting.organizer else "",
        ])
    return xlsx_bytes([Sheet(_("Cuộc họp"), header, rows, caption=caption,
                             widths=(48, 17, 17, 9, 8, 30, 11, 13, 22),
                             formats=(None, None, None, TIME_FORMAT))])
