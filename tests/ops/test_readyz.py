"""`GET /readyz`: ready when the database answers and is at the migrations' head (CONTRACT.md)."""

import sqlalchemy as sa

from config import TestingConfig
from vmeeting import create_app

from vmeeting.core.extensions import db


def test_ready_at_head_without_signing_in(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_not_ready_when_the_migrations_are_behind(app, client):
    with db.engine.begin() as conn:
        (revision,) = conn.execute(sa.text("SELECT version_num FROM alembic_version")).one()
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0016'"))
    try:
        response = client.get("/readyz")
    finally:
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    assert response.status_code == 503
    body = response.get_json()
    assert body["reason"] == "migrations_behind"
    assert body["database"] == ["0016"] and body["code"] == [revision]
    assert client.get("/readyz").status_code == 200


def test_not_ready_when_the_database_does_not_answer(database_url):
    """An app whose database cannot be reached (a folder that does not exist; a port nobody listens on)."""
    if database_url.startswith("sqlite"):
        unreachable = "sqlite:////nonexistent-folder/vmeeting.db"
    else:
        unreachable = sa.make_url(database_url).set(port=1).render_as_string(hide_password=False)
    app = create_app(TestingConfig, {"SQLALCHEMY_DATABASE_URI": unreachable})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "reason": "database_unreachable"}
