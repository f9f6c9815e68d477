"""Hooks: where a capability lets the ones above it take part, wired per app by their `init_app`.

A capability below declares a hook beside the rules that call it, e.g. booking's

    change_listeners = Hook("booking.change_listeners")

and calls what is registered there (`for listener in change_listeners: …`). A
capability above registers into it from its own `init_app(app)`, which
`create_app` calls (DESIGN.md, "Wiring is visible"):

    booking.change_listeners.connect(app, on_booking_change)

Registrations are kept on the app (`app.extensions`), not in the module: two
apps in one process (the tests make many) never share them, importing a module
wires nothing, and an app built without a capability's `init_app` runs without
it. A `NamedHook` maps a name to one function (the outbox's builders, the
scheduler's ticks): the rows a capability writes name their builder, so the
name is the key.

The functions are read in the app context of the code that calls them: a
request, a tick, the delivery loop, a CLI command.
"""

from flask import current_app

#: where an app keeps its hooks: {hook name: [functions]} or {hook name: {name: function}}
EXTENSION = "vmeeting.hooks"


def _hooks(app):
    return app.extensions.setdefault(EXTENSION, {})


class Hook:
    """An ordered list of functions per app; iterating gives the current app's, in the order connected."""

    def __init__(self, name):
        self.name = name

    def connect(self, app, func):
        """Add func to app's list (once: connecting it again changes nothing); return func."""
        functions = _hooks(app).setdefault(self.name, [])
        if func not in functions:
            functions.append(func)
        return func

    def functions(self, app=None):
        """The functions connected for app (default: the current app), as a tuple."""
        return tuple(_hooks(app or current_app).get(self.name, ()))

    def __iter__(self):
        return iter(self.functions())

    def __repr__(self):
        return f"Hook({self.name!r})"


class NamedHook:
    """A mapping name -> function per app; a name connected twice keeps the latest function."""

    def __init__(self, name):
        self.name = name

    def connect(self, app, key, func):
        """Make func app's function for key; return func."""
        _hooks(app).setdefault(self.name, {})[key] = func
        return func

    def mapping(self, app=None):
        """{key: function} connected for app (default: the current app); the app's own dict, not a copy."""
        return _hooks(app or current_app).setdefault(self.name, {})

    def __repr__(self):
        return f"NamedHook({self.name!r})"
