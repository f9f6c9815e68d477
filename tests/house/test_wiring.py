"""Wiring is visible (DESIGN.md): importing a module wires nothing; create_app's init_app calls are the whole wiring.

Each capability's hooks into the ones below it, its outbox builders and its
ticks are kept per app. The first test runs in a fresh interpreter, so that
no other test's imports can wire anything behind its back.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

from flask import Flask

from vmeeting import jobs
from vmeeting.booking import service as booking
from vmeeting.invites import service as invites
from vmeeting.network import service as network
from vmeeting.outbox import preview
from vmeeting.outbox import service as outbox
from vmeeting.readiness import service as readiness
from vmeeting.registry import service as registry

ROOT = Path(__file__).resolve().parents[2]


def test_importing_bookings_service_alone_wires_nothing_and_loads_no_capability_above_it():
    script = textwrap.dedent("""
        import json, sys
        from flask import Flask
        from vmeeting.booking import service as booking
        import vmeeting.booking

        app = Flask("bare")
        vmeeting.booking.init_app(app)  # booking's own wiring, and nothing else
        with app.app_context():
            print(json.dumps({
                "loaded": sorted({m.split(".")[1] for m in sys.modules if m.startswith("vmeeting.")}),
                "change_listeners": len(booking.change_listeners.functions()),
                "warning_sources": len(booking.warning_sources.functions()),
                "retire_guards": [f.__name__ for f in vmeeting.registry.service.retire_guards],
            }))
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    import json

    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert not {"invites", "network", "readiness", "attendance", "outbox", "home"} & set(seen["loaded"])
    assert seen["change_listeners"] == 0 and seen["warning_sources"] == 0  # nobody above booking is wired
    assert seen["retire_guards"] == ["guard_retire"]  # booking's own guard on the registry is


def test_create_app_wires_every_capability_into_the_hooks_below_it(app):
    assert invites.on_booking_change in booking.change_listeners.functions(app)
    assert network.state_warnings in booking.warning_sources.functions(app)
    assert network.incident_from_report in booking.site_issue_listeners.functions(app)
    assert set(booking.roll_call_hint_sources.functions(app)) == {network.sweep_roll_call_hints,
                                                                readiness.readiness_roll_call_hints}
    assert registry.retire_guards.functions(app) == (booking.guard_retire,)
    assert outbox.BUILDERS.mapping(app) == {invites.INVITE_BUILDER: invites.build_invites}
    assert outbox.EXPANDERS.mapping(app) == {invites.BOOKING_EXPANDER: invites.expand_booking}
    assert preview.SECRET_LINKS.functions(app) == (invites.RSVP_TOKEN, invites.REPLY_TOKEN)
    assert set(jobs.ticks(app)) == {"auth.prune_login_attempts", "auth.prune_sessions", "invites.read_replies",
                                    "invites.reminders", "outbox.webhooks",
                                    "network.sweep", "readiness.probes", "readiness.escalations", "approvals.tick"}


def test_two_apps_in_one_process_share_no_wiring(app):
    other = Flask("other")
    assert booking.change_listeners.functions(other) == ()
    assert jobs.ticks(other) == {}
    booking.change_listeners.connect(other, print)
    assert print not in booking.change_listeners.functions(app)


def test_connecting_a_function_twice_keeps_it_once():
    bare = Flask("bare")
    booking.change_listeners.connect(bare, print)
    booking.change_listeners.connect(bare, print)
    assert booking.change_listeners.functions(bare) == (print,)
