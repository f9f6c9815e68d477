"""The invite service: what the pages, the API, the wiring and the replies' reader call as `service.X`.

The rules live in one module per subject; this module names them together:

- invites.recipients: who a meeting invites (`invitees`, `people_of_sites`)
  and the place its notice is written from (`province_name`).
- invites.queue: what a booking change writes to the outbox, inside the
  booking's transaction (`on_booking_change`, a booking change listener;
  `expand_booking`, the outbox's expander of a national booking's record),
  and the mails' subjects (`subject_for`).
- invites.build: the iMIP messages built from those rows in the worker
  (`build_invites`, the outbox's "invite" builder), and the .ics a page
  offers (`download_calendar`).
- invites.answers: the answers (the signed RSVP link, `record_answer` and
  its rules, the table of answers `answer_rows`).
- invites.itip: what an iTIP message read from the mailbox must prove
  (`apply_reply`, `apply_refresh`), and invites.addresses the per-recipient
  ORGANIZER address that proves it (`reply_address`).

These functions flush; the caller commits. invites' init_app connects them
to booking and the outbox.
"""

from vmeeting.invites.answers import (  # noqa: F401 (this module's interface)
    RSVP_SALT,
    RSVP_TOKEN,
    AnswerRow,
    answer_refusal,
    answer_rows,
    answers_of,
    read_rsvp_token,
    record_answer,
    rsvp_token,
)
from vmeeting.invites.addresses import REPLY_TOKEN, reply_address  # noqa: F401 (this module's interface)
from vmeeting.invites.itip import ReplyOutcome, apply_refresh, apply_reply, last_sent_sequence  # noqa: F401
from vmeeting.invites.build import (  # noqa: F401 (this module's interface)
    SITE_TEXTS_KEPT,
    build_invites,
    download_calendar,
    sitting_cancelled_text,
)
from vmeeting.invites.queue import (  # noqa: F401 (this module's interface)
    BOOKING_EXPANDER,
    INVITE_BUILDER,
    SUBJECT_PREFIX,
    Invitee,
    expand_booking,
    on_booking_change,
    subject_for,
)
from vmeeting.invites.recipients import invitees, people_of_sites, province_name  # noqa: F401 (this module's interface)
