"""Page weights: how much a page puts in the reader's browser, in DOM elements and bytes.

A page designed for 213 sites and for the country's 10,000 must weigh about the
same at both sizes once the sites outgrow one screen (issue 25): the figure is
taken from the HTML the server sends, as the browser would build it.
"""

from html.parser import HTMLParser


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
