"""`one_of`, a set of ids as one parameter: the same rows on both databases, and no cost of rows × ids.

On PostgreSQL `column = ANY(:ids)` was hashed only in a plan made for the array's value; psycopg
prepares a statement from its fifth run on, and the generic plan PostgreSQL then keeps compared
each row with the array element by element: the slot finder over 2,138 sites went from 12 ms to
800 ms a query (issue 24). The semi-join `IN (SELECT unnest(:ids))` is hashed whatever the plan.
"""

import re

import sqlalchemy as sa

from vmeeting.core.database import one_of
from vmeeting.core.extensions import db
from vmeeting.registry.models import Endpoint


def test_one_of_selects_the_rows_of_the_ids(app, make_endpoint):
    sites = [make_endpoint() for _ in range(5)]
    wanted = [sites[0].id, sites[3].id, 999_999]
    found = db.session.scalars(sa.select(Endpoint.id).where(one_of(Endpoint.id, wanted, db.session.get_bind()))
                               .order_by(Endpoint.id)).all()
    assert found == [sites[0].id, sites[3].id]
    assert db.session.scalars(sa.select(Endpoint.id).where(one_of(Endpoint.id, [], db.session.get_bind()))).all() == []


def test_the_generic_plan_of_a_prepared_one_of_is_no_element_by_element_search(app, make_endpoint):
    bind = db.session.get_bind()
    if bind.dialect.name != "postgresql":
        return  # SQLite's json_each subquery was always a semi-join
    make_endpoint()
    statement = sa.select(Endpoint.id).where(one_of(Endpoint.unit_id, range(1, 2001), bind))
    compiled = statement.compile(bind)
    names = list(compiled.params)
    sql = re.sub(r"%\((\w+)\)s", lambda m: f"${names.index(m[1]) + 1}", str(compiled))
    connection = db.session.connection()
    connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    connection.exec_driver_sql(f"PREPARE smalls_one_of({', '.join('text' for _ in names)}) AS {sql}")
    try:
        values = ", ".join("'" + str(compiled.params[name]).replace("'", "''") + "'" for name in names)
        plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN EXECUTE smalls_one_of({values})"))
    finally:
        connection.exec_driver_sql("DEALLOCATE smalls_one_of")
    assert "ANY" not in plan, plan
    assert "unnest" in plan, plan
