"""iTIP mails shaped as the calendars our attendees use send them (iMIP, RFC 6047).

Written out by hand, byte for byte, the way each program lays out its answer:
- Outlook / Exchange: multipart/alternative of text/plain, text/html and
  `text/calendar; method=REPLY`, each base64; a Windows zone name as TZID,
  X-MICROSOFT-CDO-* properties, an empty COMMENT; subject "Accepted: …".
- Gmail: multipart/mixed of an alternative (plain base64, HTML and a
  `text/calendar; method=REPLY` quoted-printable) and the same calendar again as an
  `application/ics` attachment named invite.ics, base64; times in UTC.
- Thunderbird (Lightning): multipart/mixed of an alternative (text/plain and a
  raw 8bit UTF-8 `text/calendar; method=REPLY`) and an `application/ics`
  invite.ics attachment; a VTIMEZONE; COMMENT when the person wrote one;
  its "Delegate" sends DELEGATED with DELEGATED-TO and lists the delegate.
- Apple Calendar (macOS Mail): multipart/alternative of a short text/plain and
  a quoted-printable `text/calendar; method=REPLY` attachment; a reply to a
  series carries the master VEVENT and one VEVENT per sitting answered
  differently (RECURRENCE-ID), in one VCALENDAR.
- Outlook's "Propose new time": METHOD:COUNTER with the proposed DTSTART/DTEND.
- A REFRESH ("send me the invite again"), as Thunderbird lays out its iTIP mails.
Gmail writes the answer's note as the ATTENDEE's X-RESPONSE-COMMENT.
"""

import base64
import quopri
import uuid
from datetime import datetime, timedelta, timezone

VERB = {"ACCEPTED": "Accepted", "DECLINED": "Declined", "TENTATIVE": "Tentative"}


def _utc(instant):
    return instant.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _local(instant):
    return instant.astimezone(timezone(timedelta(hours=7))).strftime("%Y%m%dT%H%M%S")


def _b64(text, width=76):
    data = base64.b64encode(text.encode("utf-8")).decode()
    return "\r\n".join(data[i:i + width] for i in range(0, len(data), width))


def _crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _word(text):
    """A header text as the programs write it: as is when ASCII, else one RFC 2047 encoded word."""
    return text if text.isascii() else f"=?utf-8?B?{base64.b64encode(text.encode()).decode()}?="


def _stamp(stamp):
    return stamp or datetime.now(timezone.utc).replace(microsecond=0)


def outlook_reply(*, uid, sequence, attendee, name, partstat, organizer, title, starts_at, ends_at,
                  sender=None, stamp=None, recurrence_id=None):
    """Return the bytes of an Outlook (Exchange) answer."""
    stamp = _stamp(stamp)
    zone = "SE Asia Standard Time"
    recurrence = f"RECURRENCE-ID;TZID={zone}:{_local(recurrence_id)}\n" if recurrence_id else ""
    calendar = _crlf(f"""BEGIN:VCALENDAR
METHOD:REPLY
PRODID:Microsoft Exchange Server 2010
VERSION:2.0
BEGIN:VTIMEZONE
TZID:{zone}
BEGIN:STANDARD
DTSTART:16010101T000000
TZOFFSETFROM:+0700
TZOFFSETTO:+0700
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T000000
TZOFFSETFROM:+0700
TZOFFSETTO:+0700
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
ATTENDEE;PARTSTAT={partstat};CN={name}:mailto:{attendee.upper()}
COMMENT;LANGUAGE=vi-VN:\\n
SUMMARY;LANGUAGE=vi-VN:{VERB[partstat]}: {title}
DTSTART;TZID={zone}:{_local(starts_at)}
DTEND;TZID={zone}:{_local(ends_at)}
UID:{uid}
{recurrence}CLASS:PUBLIC
PRIORITY:5
DTSTAMP:{_utc(stamp)}
TRANSP:OPAQUE
STATUS:CONFIRMED
SEQUENCE:{sequence}
LOCATION;LANGUAGE=vi-VN:UBND tỉnh Lạng Sơn
X-MICROSOFT-CDO-APPT-SEQUENCE:{sequence}
X-MICROSOFT-CDO-OWNERAPPTID:-1190574452
X-MICROSOFT-CDO-BUSYSTATUS:BUSY
X-MICROSOFT-CDO-INTENDEDSTATUS:BUSY
X-MICROSOFT-CDO-ALLDAYEVENT:FALSE
X-MICROSOFT-CDO-IMPORTANCE:1
X-MICROSOFT-CDO-INSTTYPE:0
X-MICROSOFT-DONOTFORWARDMEETING:FALSE
X-MICROSOFT-DISALLOW-COUNTER:FALSE
END:VEVENT
END:VCALENDAR
""")
    boundary = f"_000_{uuid.uuid4().hex.upper()}_"
    words = {"ACCEPTED": "đã chấp nhận", "DECLINED": "đã từ chối", "TENTATIVE": "tạm thời chấp nhận"}[partstat]
    text = f"{name} {words} lời mời."
    html = f"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head><body><p>{text}</p></body></html>"
    mail = _crlf(f"""From: {_word(name)} <{sender or attendee}>
To: {_word("Văn phòng UBND tỉnh Lạng Sơn (Nguyễn Thị Hoa)")} <{organizer}>
Subject: {_word(f"{VERB[partstat]}: {title}")}
Thread-Topic: {_word(title)}
Thread-Index: AQHbQm0x5yq1nJ0GZ0uQ2lQ3b8gJ7g==
Date: {stamp.strftime("%a, %d %b %Y %H:%M:%S +0000")}
Message-ID: <{uuid.uuid4().hex}@SG2PR06MB1234.apcprd06.prod.outlook.com>
Accept-Language: vi-VN, en-US
Content-Language: vi-VN
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
Content-Type: multipart/alternative;
\tboundary="{boundary}"
MIME-Version: 1.0

--{boundary}
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{_b64(text)}

--{boundary}
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: base64

{_b64(html)}

--{boundary}
Content-Type: text/calendar; charset="utf-8"; method=REPLY
Content-Transfer-Encoding: base64

{_b64(calendar)}

--{boundary}--
""")
    return mail.encode("ascii")


def gmail_reply(*, uid, sequence, attendee, name, partstat, organizer, title, starts_at, ends_at,
                sender=None, stamp=None, recurrence_id=None, comment=""):
    """Return the bytes of a Gmail (Google Calendar) answer."""
    stamp = _stamp(stamp)
    recurrence = f"RECURRENCE-ID:{_utc(recurrence_id)}\n" if recurrence_id else ""
    note = f';X-RESPONSE-COMMENT="{comment}"' if comment else ""
    calendar = _crlf(f"""BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
VERSION:2.0
CALSCALE:GREGORIAN
METHOD:REPLY
BEGIN:VEVENT
DTSTART:{_utc(starts_at)}
DTEND:{_utc(ends_at)}
DTSTAMP:{_utc(stamp)}
ORGANIZER;CN=Van phong UBND tinh Lang Son:mailto:{organizer}
UID:{uid}
{recurrence}ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};CN={name};X-NUM-GUESTS=0{note}:mailto:{attendee}
CREATED:{_utc(stamp - timedelta(hours=1))}
DESCRIPTION:
LAST-MODIFIED:{_utc(stamp)}
LOCATION:
SEQUENCE:{sequence}
STATUS:CONFIRMED
SUMMARY:{title}
TRANSP:OPAQUE
END:VEVENT
END:VCALENDAR
""")
    outer, inner = f"000000000000{uuid.uuid4().hex[:16]}", f"000000000000{uuid.uuid4().hex[:16]}"
    verb = {"ACCEPTED": "has accepted", "DECLINED": "has declined", "TENTATIVE": "has tentatively accepted"}[partstat]
    text = f"{name} {verb} this invitation.\n\n{title}\n\nInvitation from Google Calendar"
    html = f"<div>{name} {verb} this invitation.</div><div>{title}</div>"
    qp_html = quopri.encodestring(html.encode("utf-8")).decode("ascii")
    qp_calendar = quopri.encodestring(calendar.replace("\r\n", "\n").encode("utf-8")).decode("ascii")
    mail = _crlf(f"""MIME-Version: 1.0
Date: {stamp.strftime("%a, %d %b %Y %H:%M:%S +0000")}
Message-ID: <{uuid.uuid4().hex}@google.com>
Subject: {VERB[partstat]}: =?UTF-8?B?{base64.b64encode(title.encode()).decode()}?=
From: {_word(name)} <{sender or attendee}>
To: {organizer}
Content-Type: multipart/mixed; boundary="{outer}"

--{outer}
Content-Type: multipart/alternative; boundary="{inner}"

--{inner}
Content-Type: text/plain; charset="UTF-8"; format=flowed; delsp=yes
Content-Transfer-Encoding: base64

{_b64(text)}
--{inner}
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{qp_html}
--{inner}
Content-Type: text/calendar; charset="UTF-8"; method=REPLY
Content-Transfer-Encoding: quoted-printable

{qp_calendar}
--{inner}--

--{outer}
Content-Type: application/ics; name="invite.ics"
Content-Disposition: attachment; filename="invite.ics"
Content-Transfer-Encoding: base64

{_b64(calendar)}
--{outer}--
""")
    return mail.encode("ascii")


def thunderbird_reply(*, uid, sequence, attendee, name, partstat, organizer, title, starts_at, ends_at,
                      sender=None, stamp=None, recurrence_id=None, comment="", method="REPLY", attendee_lines=None):
    """Return the bytes of a Thunderbird (Lightning) answer: its calendar part raw 8bit UTF-8.

    attendee_lines: the ATTENDEE lines as written, instead of the one answering (a delegation lists two).
    """
    stamp = _stamp(stamp)
    attendees = attendee_lines or [
        f"ATTENDEE;RSVP=TRUE;CN={name};PARTSTAT={partstat};ROLE=REQ-PARTICIPANT:mailto:{attendee}"]
    recurrence = f"RECURRENCE-ID;TZID=Asia/Ho_Chi_Minh:{_local(recurrence_id)}\n" if recurrence_id else ""
    comment_line = f"COMMENT:{comment}\n" if comment else ""
    calendar = _crlf(f"""BEGIN:VCALENDAR
PRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN
VERSION:2.0
METHOD:{method}
BEGIN:VTIMEZONE
TZID:Asia/Ho_Chi_Minh
BEGIN:STANDARD
TZOFFSETFROM:+0700
TZOFFSETTO:+0700
TZNAME:+07
DTSTART:19700101T000000
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
CREATED:{_utc(stamp - timedelta(hours=1))}
LAST-MODIFIED:{_utc(stamp)}
DTSTAMP:{_utc(stamp)}
UID:{uid}
{recurrence}SUMMARY:{title}
ORGANIZER;CN="Văn phòng UBND tỉnh Lạng Sơn (Nguyễn Thị Hoa)":mailto:{organizer}
{chr(10).join(attendees)}
{comment_line}DTSTART;TZID=Asia/Ho_Chi_Minh:{_local(starts_at)}
DTEND;TZID=Asia/Ho_Chi_Minh:{_local(ends_at)}
SEQUENCE:{sequence}
TRANSP:OPAQUE
END:VEVENT
END:VCALENDAR
""")
    outer, inner = f"------------{uuid.uuid4().hex[:24]}", f"------------{uuid.uuid4().hex[:24]}"
    verb = {"ACCEPTED": "đã chấp nhận", "DECLINED": "đã từ chối", "TENTATIVE": "đã chấp nhận tạm thời",
            "DELEGATED": "đã ủy quyền", "NEEDS-ACTION": "xin gửi lại"}[partstat]
    encoded_title = base64.b64encode(f"{VERB.get(partstat, 'Refresh')}: {title}".encode()).decode()
    mail = _crlf(f"""Message-ID: <{uuid.uuid4()}@langson.gov.vn>
Date: {stamp.strftime("%a, %d %b %Y %H:%M:%S +0000")}
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
From: {_word(name)} <{sender or attendee}>
Subject: =?UTF-8?B?{encoded_title}?=
To: {organizer}
Content-Type: multipart/mixed; boundary="{outer}"

This is a multi-part message in MIME format.
--{outer}
Content-Type: multipart/alternative; boundary="{inner}"

--{inner}
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

{name} {verb} lời mời: {title}

--{inner}
Content-Type: text/calendar; method={method}; charset=UTF-8
Content-Transfer-Encoding: 8bit

{calendar}
--{inner}--
--{outer}
Content-Type: application/ics; name="invite.ics"
Content-Disposition: attachment; filename="invite.ics"
Content-Transfer-Encoding: base64

{_b64(calendar)}

--{outer}--
""")
    return mail.encode("utf-8")


def apple_reply(*, uid, sequence, attendee, name, partstat, organizer, title, starts_at, ends_at,
                sender=None, stamp=None, recurrence_id=None, rrule=None, sittings=()):
    """Return the bytes of an Apple Calendar answer (sent by macOS Mail).

    rrule: the series' rule, written on the master VEVENT as Apple repeats it;
    sittings: [(original start, PARTSTAT)] of sittings answered otherwise than
    the series, each its own VEVENT with RECURRENCE-ID in the same VCALENDAR.
    """
    stamp = _stamp(stamp)
    zone = "Asia/Ho_Chi_Minh"

    def event(partstat_here, recurrence=None, start=starts_at, end=ends_at):
        lines = [
            "BEGIN:VEVENT",
            f"ATTENDEE;CN={name};CUTYPE=INDIVIDUAL;EMAIL={attendee};PARTSTAT={partstat_here}:mailto:{attendee}",
            f"DTEND;TZID={zone}:{_local(end)}",
            f"DTSTAMP:{_utc(stamp)}",
            f"DTSTART;TZID={zone}:{_local(start)}",
            "LAST-MODIFIED:" + _utc(stamp),
            f"ORGANIZER;CN=\"Văn phòng UBND tỉnh Lạng Sơn\":mailto:{organizer}",
        ]
        if recurrence is not None:
            lines.append(f"RECURRENCE-ID;TZID={zone}:{_local(recurrence)}")
        elif rrule:
            lines.append(f"RRULE:{rrule}")
        lines += [f"SEQUENCE:{sequence}", f"SUMMARY:{title}", f"UID:{uid}",
                  "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC", "END:VEVENT"]
        return "\n".join(lines)

    events = [event(partstat, recurrence_id)]
    for original, sitting_partstat in sittings:
        length = ends_at - starts_at
        events.append(event(sitting_partstat, original, original, original + length))
    calendar = _crlf("\n".join([
        "BEGIN:VCALENDAR", "METHOD:REPLY", "PRODID:-//Apple Inc.//macOS 14.4.1//EN", "VERSION:2.0",
        "BEGIN:VTIMEZONE", f"TZID:{zone}", "BEGIN:STANDARD", "DTSTART:19750613T000000", "TZNAME:GMT+7",
        "TZOFFSETFROM:+0800", "TZOFFSETTO:+0700", "END:STANDARD", "END:VTIMEZONE",
        *events, "END:VCALENDAR", ""]))
    boundary = f"Apple-Mail={uuid.uuid4().hex.upper()}"
    verb = {"ACCEPTED": "đã chấp nhận", "DECLINED": "đã từ chối", "TENTATIVE": "có thể tham dự"}[partstat]
    qp_calendar = quopri.encodestring(calendar.replace("\r\n", "\n").encode("utf-8")).decode("ascii")
    mail = _crlf(f"""Content-Type: multipart/alternative;
\tboundary="{boundary}"
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.500.171.1.1\\))
Subject: {_word(f"{VERB[partstat]}: {title}")}
From: {_word(name)} <{sender or attendee}>
Date: {stamp.strftime("%a, %d %b %Y %H:%M:%S +0700")}
Message-Id: <{uuid.uuid4().hex.upper()}@icloud.com>
To: {organizer}
X-Mailer: Apple Mail (2.3774.500.171.1.1)

--{boundary}
Content-Transfer-Encoding: base64
Content-Type: text/plain;
\tcharset=utf-8

{_b64(f"{name} {verb} lời mời: {title}")}
--{boundary}
Content-Transfer-Encoding: quoted-printable
Content-Type: text/calendar;
\tcharset=utf-8;
\tmethod=REPLY;
\tname=reply.ics
Content-Disposition: attachment;
\tfilename=reply.ics

{qp_calendar}
--{boundary}--
""")
    return mail.encode("ascii")


def outlook_counter(*, uid, sequence, attendee, name, organizer, title, starts_at, ends_at, proposed_start,
                    proposed_end, stamp=None):
    """Return the bytes of Outlook's "Propose new time": METHOD:COUNTER with the proposed times."""
    stamp = _stamp(stamp)
    calendar = _crlf(f"""BEGIN:VCALENDAR
METHOD:COUNTER
PRODID:Microsoft Exchange Server 2010
VERSION:2.0
BEGIN:VEVENT
ORGANIZER;CN="Văn phòng UBND tỉnh Lạng Sơn":mailto:{organizer}
ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=TENTATIVE;RSVP=TRUE;CN={name}:mailto:{attendee}
COMMENT;LANGUAGE=vi-VN:Xin dời sang buổi chiều.\\n
SUMMARY;LANGUAGE=vi-VN:{title}
DTSTART:{_utc(proposed_start)}
DTEND:{_utc(proposed_end)}
UID:{uid}
DTSTAMP:{_utc(stamp)}
SEQUENCE:{sequence}
X-MS-OLK-ORIGINALSTART:{_utc(starts_at)}
X-MS-OLK-ORIGINALEND:{_utc(ends_at)}
X-MICROSOFT-CDO-APPT-SEQUENCE:{sequence}
END:VEVENT
END:VCALENDAR
""")
    boundary = f"_000_{uuid.uuid4().hex.upper()}_"
    mail = _crlf(f"""From: {_word(name)} <{attendee}>
To: {organizer}
Subject: {_word(f"Đề xuất thời gian mới: {title}")}
Date: {stamp.strftime("%a, %d %b %Y %H:%M:%S +0000")}
Message-ID: <{uuid.uuid4().hex}@SG2PR06MB1234.apcprd06.prod.outlook.com>
Content-Type: multipart/alternative;
\tboundary="{boundary}"
MIME-Version: 1.0

--{boundary}
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{_b64("Thời gian mới được đề xuất.")}

--{boundary}
Content-Type: text/calendar; charset="utf-8"; method=COUNTER
Content-Transfer-Encoding: base64

{_b64(calendar)}

--{boundary}--
""")
    return mail.encode("ascii")


SHAPES = {"outlook": outlook_reply, "gmail": gmail_reply, "thunderbird": thunderbird_reply, "apple": apple_reply}
