"""Every JSON write answers as stored: its answer is built before the commit, and nothing reads after it.

Issue 23 found it for bookings (tests/booking/test_stored_answers.py, with the
real failures): a change committed, then a read for the answer met a dropped
connection or SQLite's write lock held by the worker, and a stored change
answered 503, so the client's retry met its own write. The rule lives in one
helper, `core.jsonapi.committed`; here the other capabilities' writes are held
to it, on both databases.
"""


from vmeeting.core.extensions import db


def test_the_registrys_network_and_calendars_writes_read_nothing_after_their_commit(
        app, client, api_headers, make_endpoint, after_commit_statements):
    admin = api_headers("admin")
    site = make_endpoint()
    site_id, unit_id = site.id, site.unit_id
    writes = [
        ("create an endpoint", 201, lambda: client.post("/api/v1/endpoints", headers=admin, json={
            "code": "EP-MOI", "name": "Điểm cầu mới", "unit_id": unit_id,
            "sip_uri": "sip:moi@127.0.0.1:5060"})),
        ("change an endpoint", 200, lambda: client.patch(f"/api/v1/endpoints/{site_id}", headers=admin,
                                                         json={"name": "Điểm cầu đổi tên"})),
        ("open an incident", 201, lambda: client.post("/api/v1/incidents", headers=admin, json={
            "endpoint_id": site_id, "title": "Mất tiếng", "severity": "major", "note": "Micro không nhận"})),
        ("resolve it", 200, lambda: client.post("/api/v1/incidents/1/resolve", headers=admin,
                                                json={"resolution": "Thay micro"})),
        ("declare a day", 201, lambda: client.post("/api/v1/holidays", headers=admin, json={
            "date": "2027-03-06", "kind": "working_day", "name": "Làm bù"})),
        ("remove it", 204, lambda: client.delete("/api/v1/holidays/2027-03-06", headers=admin)),
        ("retire an endpoint", 200, lambda: client.delete(f"/api/v1/endpoints/{site_id}", headers=admin)),
    ]
    read_after = {}
    for name, status, write in writes:
        db.session.remove()  # each request starts as a client's would: nothing loaded in the session
        answer = write()
        assert answer.status_code == status, (name, answer.get_json())
        read_after[name] = list(after_commit_statements)
        after_commit_statements.clear()
    assert read_after == {name: [] for name, _status, _write in writes}
