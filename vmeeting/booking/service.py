"""The booking service: what every entry point (page, API, job, the capabilities above) calls as `booking.X`.

The rules live in one module per subject; this module names them together:

- booking.validation: a meeting's fields (`validate_meeting`), the person's
  `BookingChoices`, a move's times, a cancel's reason, an edit's version
  (`version_of`, `check_version`; every change first holds the meeting's row
  and reads its version under it, `hold_meeting`), a sitting under way
  (`check_under_way`), and the rules of time every change applies.
- booking.history: what a change of a meeting records (old and new values)
  and those values in words, for its history page and a stale edit's answer.
- booking.changes: `book_meeting`, `update_meeting`, `cancel_meeting`,
  `cancel_occurrence`, `move_occurrence`, and their writes (occurrences,
  reservations, the meeting's sites). They flush and raise; the caller
  commits. Every change takes the booking lock (`conflicts.lock_sites`)
  before writing anything, and the caller's commit or rollback releases it.
- booking.queries: the reads of the pages and the API (`occurrences_select`,
  `sittings_by_day`, `meetings_select`, `sites_by_district`, `endpoint_ids_of`…).
- booking.hooks: the hooks the capabilities above booking connect to from
  their init_app (`change_listeners`, `warning_sources`, `meeting_warning_sources`,
  `site_issue_listeners`, `roll_call_hint_sources`, `site_condition_sources`,
  `sitting_summary_sources`, `invite_text_sources`, `invite_attachment_sources`),
  what pages ask of them (`site_warnings`, `meeting_warnings`, `roll_call_hints`,
  `site_conditions`, `sitting_summaries`, `report_site_issue`, `invite_texts`,
  `invite_attachments`), and `guard_retire`, booking's
  guard on the registry.

Sites come from `sites.resolve_sites` (named here too), series from `series`,
overlaps and capacity from `conflicts`. The steps the modules share among
themselves (`screen_sittings`, `check_new_times`, `conflict_message`) are
booking's own and are not named here.
"""

from vmeeting.booking.changes import (  # noqa: F401 (this module's interface)
    book_meeting,
    cancel_meeting,
    cancel_occurrence,
    move_occurrence,
    update_meeting,
)
from vmeeting.booking.hooks import (  # noqa: F401 (this module's interface)
    change_listeners,
    guard_retire,
    invite_attachment_sources,
    invite_holds,
    invites_held,
    scope_gates,
    invite_attachments,
    invite_text_sources,
    invite_texts,
    meeting_warning_sources,
    meeting_warnings,
    report_site_issue,
    roll_call_hint_sources,
    roll_call_hints,
    site_condition_sources,
    site_conditions,
    site_issue_listeners,
    site_warnings,
    sitting_summaries,
    sitting_summary_sources,
    warning_sources,
)
from vmeeting.booking.queries import (  # noqa: F401 (this module's interface)
    endpoint_ids_of,
    meetings_select,
    occurrences_select,
    recurrence_text,
    recurrence_warning,
    site_counts,
    sites_by_district,
    sittings_by_day,
)
from vmeeting.booking.sites import SiteChoice, resolve_sites  # noqa: F401 (this module's interface)
from vmeeting.booking.validation import (  # noqa: F401 (this module's interface)
    MAX_ATTENDEES,
    MAX_REASON_LENGTH,
    MEETING_FIELDS,
    BookingChoices,
    check_version,
    clean_reason,
    validate_meeting,
    validate_move,
    version_of,
)
