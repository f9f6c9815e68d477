"""The demo's meetings: a week of the province's usual bookings, so the calendar,
the invites and the readiness pages have something to show on the first run.

They are booked through the booking service like any other (conflict and
capacity checks, reservations, invites queued in the outbox), on the next
working days after the day of loading. A title that exists already is left
alone, so loading again adds nothing.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

import sqlalchemy as sa

from vmeeting.auth.models import User
from vmeeting.booking import service as booking
from vmeeting.booking.models import Meeting
from vmeeting.core.extensions import db
from vmeeting.registry import service as registry
from vmeeting.registry.models import AdminUnit, Endpoint, EndpointGroup
from vmeeting.core.timefmt import local_zone
from vmeeting.working_time import service as working_time


@dataclass(frozen=True)
class DemoMeeting:
    """One booking at local wall-clock times: on the `workday`-th working day after
    the day of loading, or (a weekly series) from the next Monday, holidays left out."""

    title: str
    description: str
    workday: int | None
    start: time
    end: time
    chair_code: str
    unit_codes: tuple = ()
    group_names: tuple = ()
    whole_province: bool = False
    recurrence: str | None = None


DEMO_MEETINGS = (
    DemoMeeting(
        "Hội nghị trực tuyến triển khai nhiệm vụ phát triển kinh tế – xã hội tháng tới",
        "1. Báo cáo kết quả thực hiện nhiệm vụ tháng trước.\n2. Triển khai nhiệm vụ trọng tâm tháng tới.\n"
        "3. Ý kiến các huyện, thành phố và các xã, phường, thị trấn.\n4. Kết luận của Chủ tịch UBND tỉnh.",
        workday=1, start=time(8, 0), end=time(11, 0), chair_code="LS-TINH", whole_province=True),
    DemoMeeting(
        "Giao ban trực tuyến UBND tỉnh với các huyện, thành phố",
        "Giao ban hằng tuần: tình hình nổi bật trong tuần, kiến nghị của các huyện, thành phố.",
        workday=None, start=time(14, 0), end=time(15, 30), chair_code="LS-TINH",
        group_names=("Khối huyện, thành phố",), recurrence="FREQ=WEEKLY;COUNT=8"),
    DemoMeeting(
        "Họp trực tuyến huyện Đình Lập với các xã, thị trấn về công tác phòng chống thiên tai",
        "Rà soát phương án phòng chống thiên tai và tìm kiếm cứu nạn; phân công trực.",
        workday=2, start=time(8, 30), end=time(10, 30), chair_code="LS-189",
        # the district (code 189) until 30/6/2025; since 01/7/2025 its sites are under Xã Đình Lập, Thái Bình,
        # Châu Sơn and Kiên Mộc: the units valid on the meeting's day are booked
        unit_codes=("189", "LS25-40", "LS25-41", "LS25-42", "LS25-43")),
    DemoMeeting(
        "Tập huấn sử dụng hệ thống họp trực tuyến cho cán bộ cấp xã huyện Tràng Định",
        "Hướng dẫn vận hành thiết bị điểm cầu, kiểm tra hình ảnh, âm thanh và kết nối trước giờ họp.",
        workday=3, start=time(8, 0), end=time(11, 0), chair_code="LS-180",
        group_names=("Huyện Tràng Định và các xã, thị trấn",)),
)


def working_day(today, n):
    """Return the n-th working day after today (the working calendar: weekends, holidays, Tết, declared days)."""
    return working_time.next_working_days(today, n)[-1]


def load_meetings(summary, now):
    """Book the demo meetings that are missing, as the demo scheduler."""
    titles = [m.title for m in DEMO_MEETINGS]
    existing = set(db.session.scalars(sa.select(Meeting.title).where(Meeting.title.in_(titles))))
    organizer = db.session.scalar(sa.select(User).where(User.username == "scheduler"))
    zone = local_zone()
    today = now.astimezone(zone).date()
    booked = 0
    for plan in DEMO_MEETINGS:
        if plan.title in existing:
            continue
        day = working_day(today, plan.workday) if plan.workday else today + timedelta(days=7 - today.weekday())
        choice = booking.resolve_sites(
            all_endpoints=plan.whole_province,
            unit_ids=db.session.scalars(registry.units_select(on_day=day).with_only_columns(AdminUnit.id).where(
                AdminUnit.code.in_(plan.unit_codes))).all(),
            group_ids=db.session.scalars(
                sa.select(EndpointGroup.id).where(EndpointGroup.name.in_(plan.group_names))).all(),
            on_day=day,
        )
        chair_id = db.session.scalar(sa.select(Endpoint.id).where(sa.func.lower(Endpoint.code) == plan.chair_code.lower()))
        data = {"title": plan.title, "description": plan.description, "chair_endpoint_id": chair_id,
                "starts_at": datetime.combine(day, plan.start, zone).astimezone(timezone.utc),
                "ends_at": datetime.combine(day, plan.end, zone).astimezone(timezone.utc),
                "recurrence": plan.recurrence}
        # a weekly series leaves out the Mondays that are holidays, as an office would
        booking.book_meeting(data, choice, actor=organizer,
                             choices=booking.BookingChoices(skip_non_working=bool(plan.recurrence)))
        booked += 1
    summary.created["meetings"] = booked
