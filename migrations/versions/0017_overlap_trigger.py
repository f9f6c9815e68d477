"""reservations: one overlap check per statement instead of a GiST entry per row

PostgreSQL refused two overlapping busy intervals of one endpoint with an
exclusion constraint over a GiST index (btree_gist, migration 0003). At
national size that index is the dearest thing a booking writes: about 60 µs
per reservation once the table holds the country's history, a third of a
10,000-site booking's time. The rule stays in the database, now as a
statement-level trigger:

1. it locks the statement's endpoints (FOR NO KEY UPDATE, in id order, the
   order vmeeting.booking.conflicts.lock_sites takes them in), so a second
   writer of the same sites waits until the first commits or rolls back;
2. then, with a snapshot taken after the lock (READ COMMITTED gives each
   statement of a function a fresh one), it looks for an overlap of the new
   rows with any row, committed or its own, through ix_reservations_endpoint_busy;
3. an overlap raises SQLSTATE 23P01 (exclusion_violation) naming the
   constraint reservations_no_overlap, as the exclusion constraint did.

Step 2 is only sound when the snapshot is fresh, so a writer at REPEATABLE
READ or SERIALIZABLE is refused (SQLSTATE 25000, invalid_transaction_state)
rather than trusted. The search looks back from each new row by the longest
busy interval there can be, 16 hours (vmeeting.booking.conflicts.MAX_BUSY:
12 h of meeting and 4 h of set-up), which a CHECK now enforces too, so the
bound cannot be outgrown. The function's search_path is the schema the
migration ran in, then pg_temp, so a session's temporary table named
`reservations` cannot stand in for the real one.

What a writer outside vmeeting should know: the lock needs UPDATE on
`endpoints` (the application's role has it); the locks are held until commit,
so a script writing several statements for different endpoints should lock
them all first, in id order, as lock_sites does, or PostgreSQL may detect a
deadlock and fail one of two such scripts (never both pass with an overlap).
Like any trigger, this one is skipped by session_replication_role = replica
and pg_restore --disable-triggers, which only a superuser can use.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 16:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

FUNCTION = r"""
CREATE FUNCTION reservations_no_overlap() RETURNS trigger LANGUAGE plpgsql
SET search_path = {schema}, pg_temp
AS $$
BEGIN
    -- PostgreSQL runs READ UNCOMMITTED as READ COMMITTED
    IF current_setting('transaction_isolation') NOT IN ('read committed', 'read uncommitted') THEN
        RAISE EXCEPTION 'reservations are written at READ COMMITTED, not %',
            current_setting('transaction_isolation')
            USING ERRCODE = '25000',
                  HINT = 'The overlap check of reservations_no_overlap needs a snapshot taken after its lock.';
    END IF;
    PERFORM 1 FROM endpoints
     WHERE id IN (SELECT endpoint_id FROM new_rows)
     ORDER BY id
       FOR NO KEY UPDATE;
    IF EXISTS (
        SELECT 1
          FROM new_rows n
          JOIN reservations r
            ON r.endpoint_id = n.endpoint_id
           AND r.busy_from > n.busy_from - interval '16 hours'
           AND r.busy_from < n.busy_until
           AND r.busy_until > n.busy_from
           AND r.id <> n.id
    ) THEN
        RAISE EXCEPTION 'conflicting key value violates exclusion constraint "reservations_no_overlap"'
            USING ERRCODE = '23P01', CONSTRAINT = 'reservations_no_overlap', TABLE = 'reservations',
                  DETAIL = 'An endpoint would be busy twice at once.';
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: the check and the insert share the database's one write lock (DESIGN.md)
    op.execute("ALTER TABLE reservations DROP CONSTRAINT reservations_no_overlap")
    op.execute("ALTER TABLE reservations ADD CONSTRAINT ck_reservations_busy_at_most_16_hours "
               "CHECK (busy_until <= busy_from + interval '16 hours')")
    schema = op.get_bind().exec_driver_sql("SELECT quote_ident(current_schema())").scalar()
    op.execute(FUNCTION.replace("{schema}", schema))
    for event in ("INSERT", "UPDATE"):
        op.execute(f"CREATE TRIGGER reservations_no_overlap_{event.lower()} AFTER {event} ON reservations "
                   "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reservations_no_overlap()")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER reservations_no_overlap_{event} ON reservations")
    op.execute("DROP FUNCTION reservations_no_overlap()")
    op.execute("ALTER TABLE reservations DROP CONSTRAINT ck_reservations_busy_at_most_16_hours")
    op.execute("ALTER TABLE reservations ADD CONSTRAINT reservations_no_overlap "
               "EXCLUDE USING gist (endpoint_id WITH =, tstzrange(busy_from, busy_until, '[)') WITH &&)")
