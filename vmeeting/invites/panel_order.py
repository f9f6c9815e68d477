"""The meeting page's view of the answers: counted for its summary, listed by district and site.

A province-wide meeting invites some 240 people; the page counts their answers at the top and lists
them under a fold in the order of its sites (district, then site), where a clerk looks a site up.
"""

from vmeeting.invites import service
from vmeeting.registry import areas

#: the answers the summary counts, and "none" for no answer yet (iCalendar PARTSTAT, RFC 5545 section 3.2.12)
COUNTED = ("ACCEPTED", "DECLINED", "TENTATIVE", "none")


def _person_and_answer(row):
    """(person, answer or None) of a row of `answer_rows`, a pair or a row object with .person and .answer."""
    if isinstance(row, tuple):
        return row[0], row[1]
    return row.person, row.answer


def reply_counts(meeting):
    """Return {ACCEPTED, DECLINED, TENTATIVE, none, total} (and any other PARTSTAT met): how many invited
    people answered what.

    A delegate's own row (the answer of someone a recipient delegated to) is not a second invitee.
    """
    found = dict.fromkeys(COUNTED, 0)
    for row in service.answer_rows(meeting):
        if getattr(row, "delegate", False):
            continue
        _person, answer = _person_and_answer(row)
        key = answer.partstat if answer is not None else "none"
        found[key] = found.get(key, 0) + 1  # another PARTSTAT (DELEGATED) is counted under its own name
    found["total"] = sum(found.values())
    return found


def rows_by_site(rows):
    """Return `answer_rows`' rows ordered by the district and name of each person's first site, then name;
    people of no site (extra attendees) last. Each row gets `district` (its first site's, or None)."""
    rows = list(rows)
    units = {site.unit for row in rows for site in _person_and_answer(row)[0].sites if site.unit is not None}
    heads = areas.district_heads(units)
    level_order = {"province": 0, "district": 1, "commune": 2}

    def key(row):
        person, _answer = _person_and_answer(row)
        if not person.sites:
            return (1, 0, 0, "", person.label.casefold())
        site = person.sites[0]
        head = heads.get(site.unit_id)
        return (0, level_order.get(head.level, 3) if head else 3, head.position if head else 0,
                site.name_sort_key or "", person.label.casefold())

    return [(row, heads.get(_person_and_answer(row)[0].sites[0].unit_id) if _person_and_answer(row)[0].sites else None)
            for row in sorted(rows, key=key)]
