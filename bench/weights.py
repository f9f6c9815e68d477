"""Page weights: how much a page puts in the reader's browser, in DOM elements and bytes.

A page designed for 213 sites and for the country's 10,000 must weigh about the
same at both sizes once the sites outgrow one screen (issue 25): the figure is
taken from the HTML the server sends, as the browser would build it.
"""

from html.parser import HTMLParser


#: the pages weighed for each meeting size (run.Bench.page_weights), in the order of the table
WEIGHT_PAGES = {"readiness": "readiness board", "meeting_page": "meeting page", "roll_call": "roll-call",
                "booking_form": "booking form (edit)"}


class _Counter(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = 0

    def handle_starttag(self, tag, attrs):
        self.elements += 1

    def handle_startendtag(self, tag, attrs):
        self.elements += 1


def page_weight(body):
    """Return {"nodes": elements in the HTML, "bytes": its size} of a page's body (bytes)."""
    counter = _Counter()
    counter.feed(body.decode("utf-8", "replace"))
    counter.close()
    return {"nodes": counter.elements, "bytes": len(body)}



def one_province_form(workdir):
    """The empty booking form's weight where the registry holds one province of 213 sites (the demo's size):
    {"nodes", "bytes"}. The country's form is weighed through the served app; this one in-process, in a
    SQLite database of its own (generate.py: one province, a week of meetings), signed in through the form."""
    import generate
    from client import CSRF_RE
    from flask_migrate import upgrade

    from vmeeting.auth import service as auth
    from vmeeting.core.extensions import db

    app = generate.make_app(f"sqlite:///{workdir / 'one-province.db'}")
    with app.app_context():
        upgrade()
        generate.generate(generate.Scale(endpoints=213, provinces=1, days=7, small_meetings=20))
        auth.create_user("weights-scheduler", "scheduler", password=PASSWORD, email="weights@example.vn")
        db.session.commit()
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    match = CSRF_RE.search(login)
    signed = client.post("/login", data={"username": "weights-scheduler", "password": PASSWORD,
                                         "csrf_token": match.group(1) or match.group(2)})
    if signed.status_code != 302:
        raise RuntimeError(f"sign-in failed with {signed.status_code}")
    answer = client.get("/meetings/new")
    if answer.status_code != 200:
        raise RuntimeError(f"the booking form answered {answer.status_code}")
    with app.app_context():
        db.engine.dispose()
    return page_weight(answer.get_data())


PASSWORD = "cau-vong-bay-sac-1"


def weight_growth(figures):
    """{page: {"bytes": ×, "nodes": ×}}: each page's weight at 10,000 sites over its weight at 213 (1 is flat)."""
    growth = {}
    for key in WEIGHT_PAGES:
        small, large = figures.get(f"weight_{key}_213"), figures.get(f"weight_{key}_10000")
        if small and large:
            growth[key] = {measure: round(large[measure] / small[measure], 2) for measure in ("bytes", "nodes")}
    return growth


def weight_table(figures, growth):
    """The page weights as rows: each page at 213 and 10,000 sites (bytes, DOM elements) and the ratio."""
    lines = ["", "| page weight, before any section is opened | 213 sites | 10,000 sites | × 10,000/213 |",
             "| --- | ---: | ---: | ---: |"]

    def cell(figure):
        return f"{figure['bytes']:,} B, {figure['nodes']:,} el." if figure else "–"

    for key, label in WEIGHT_PAGES.items():
        ratio = growth.get(key)
        lines.append(f"| {label} | {cell(figures.get(f'weight_{key}_213'))} | "
                     f"{cell(figures.get(f'weight_{key}_10000'))} | "
                     + (f"{ratio['bytes']} (bytes), {ratio['nodes']} (elements) |" if ratio else "– |"))
    small, large = figures.get("weight_new_form_213"), figures.get("weight_new_form")
    if large:
        ratio = (f"{round(large['bytes'] / small['bytes'], 2)} (bytes), {round(large['nodes'] / small['nodes'], 2)} "
                 f"(elements)") if small else "–"
        lines.append(f"| new booking form (the sites on offer: one province's, the country's) | {cell(small)} | "
                     f"{cell(large)} | {ratio} |")
    return lines
