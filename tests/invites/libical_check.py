"""Check iCalendar texts with libical (Evolution's parser), strictly; run by Debian's /usr/bin/python3.

Reads a JSON list of calendar texts on stdin and writes a JSON list with, for
each, the problems libical found: parse errors, and the iTIP restrictions of
the calendar's METHOD (RFC 5546; without METHOD, those of a published
calendar), each reported by libical as an X-LIC-ERROR property. An empty list
means the calendar passed.

It runs outside the project's virtualenv because libical reaches Python through
GObject introspection (Debian's gir1.2-ical-3.0 and python3-gi), which pip
cannot install.
"""

import json
import sys

import gi

gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib  # noqa: E402


def problems(text):
    """Return libical's complaints about one calendar, as text lines."""
    try:
        component = ICalGLib.Component.new_from_string(text)
    except TypeError:  # the binding's word for a NULL component
        component = None
    if component is None or component.isa() != ICalGLib.ComponentKind.VCALENDAR_COMPONENT:
        return ["libical found no VCALENDAR"]
    ICalGLib.restriction_check(component)
    found = []
    stack = [component]
    while stack:
        current = stack.pop()
        prop = current.get_first_property(ICalGLib.PropertyKind.XLICERROR_PROPERTY)
        while prop is not None:
            found.append(f"{ICalGLib.Component.kind_to_string(current.isa())}: {prop.get_xlicerror()}")
            prop = current.get_next_property(ICalGLib.PropertyKind.XLICERROR_PROPERTY)
        child = current.get_first_component(ICalGLib.ComponentKind.ANY_COMPONENT)
        while child is not None:
            stack.append(child)
            child = current.get_next_component(ICalGLib.ComponentKind.ANY_COMPONENT)
    return found


if __name__ == "__main__":
    json.dump([problems(text) for text in json.load(sys.stdin)], sys.stdout)
