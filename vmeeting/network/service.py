"""Network operations rules, the network's public face: the sweep of every site, its state, its alarms, incidents.

Every entry point (worker, page, API) calls these. They flush and raise; the
caller commits — except `sweep`, which must not hold a transaction open while
it waits on the network and so commits around the probes itself.

The rules live by subject, each in its module; this one names what the rest
of the app uses (`from vmeeting.network import service`):

- `network.sweep`: reading the targets, calling the probes, writing the results;
- `network.state`: the down-after-N rule, the alarms of a change, the states read back (board, availability);
- `network.incidents`: incidents opened and resolved by hand, by a report or by the sweep; their report;
- `network.for_booking`: what booking hears (warnings about a booking's sites, the roll-call's hints,
  each site's condition for readiness's verdict).
"""

from vmeeting.network.for_booking import site_conditions, state_warnings, sweep_roll_call_hints
from vmeeting.network.incidents import (
    DOWN_INCIDENT_TITLE, INCIDENT_ANY_ROLES, READINESS_INCIDENT_TITLE, SEVERITY_LABELS, SOURCE_LABELS, TEXT_MAX,
    TITLE_MAX, NotAllowed, handleable_endpoints, incident_from_report, incident_json, incident_report,
    incidents_select, may_handle, open_incident, require_handle, resolve_incident, users_by_id, validate_incident,
)
from vmeeting.network.state import (
    BOARD_CELLS, STATE_LABELS, active_site_count, alarm_mails, alarm_recipients, availability, board,
    daily_availability, history, network_select, provinces, state_json, state_of, summary,
)
from vmeeting.network.sweep import SweepSummary, last_sweep, prune_history, record_sweep, sweep, sweep_targets

__all__ = [
    # the sweep
    "SweepSummary", "sweep_targets", "sweep", "record_sweep", "prune_history", "last_sweep",
    # the state and its alarms
    "STATE_LABELS", "BOARD_CELLS", "alarm_recipients", "alarm_mails", "state_json", "network_select", "summary",
    "state_of", "board", "active_site_count", "provinces", "availability", "daily_availability", "history",
    # incidents
    "SEVERITY_LABELS", "SOURCE_LABELS", "INCIDENT_ANY_ROLES", "TITLE_MAX", "TEXT_MAX", "DOWN_INCIDENT_TITLE",
    "READINESS_INCIDENT_TITLE", "NotAllowed", "may_handle", "require_handle", "validate_incident", "open_incident",
    "resolve_incident", "incidents_select", "incident_json", "handleable_endpoints", "incident_report",
    "users_by_id", "incident_from_report",
    # what booking hears
    "state_warnings", "sweep_roll_call_hints", "site_conditions",
]
