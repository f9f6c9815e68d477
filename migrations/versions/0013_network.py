"""network and attendance: live state of every site, its state changes, incidents; the roll-call

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-30 06:58:10.274288

"""
from alembic import op
import sqlalchemy as sa

from vmeeting.core.database import UTCDateTime


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0010"  # the lead chains helpers' migrations: written against 0006 + 0011
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('opened_at', UTCDateTime(), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', UTCDateTime(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=False),
    sa.CheckConstraint("severity IN ('minor', 'major', 'critical')", name=op.f('ck_incidents_severity')),
    sa.CheckConstraint("source IN ('manual', 'network', 'readiness')", name=op.f('ck_incidents_source')),
    sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f('ck_incidents_status')),
    sa.ForeignKeyConstraint(['endpoint_id'], ['endpoints.id'], name=op.f('fk_incidents_endpoint_id_endpoints')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_incidents_opened_by_id_users')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_incidents_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_endpoint_status', ['endpoint_id', 'status'], unique=False)
        batch_op.create_index('ix_incidents_status_opened', ['status', 'opened_at'], unique=False)

    op.create_table('network_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('previous', sa.String(length=10), nullable=False),
    sa.Column('occurred_at', UTCDateTime(), nullable=False),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.CheckConstraint("state IN ('up', 'down', 'unknown')", name=op.f('ck_network_events_state')),
    sa.ForeignKeyConstraint(['endpoint_id'], ['endpoints.id'], name=op.f('fk_network_events_endpoint_id_endpoints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_network_events'))
    )
    with op.batch_alter_table('network_events', schema=None) as batch_op:
        batch_op.create_index('ix_network_events_endpoint_time', ['endpoint_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_network_events_occurred_at'), ['occurred_at'], unique=False)

    op.create_table('network_states',
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('since', UTCDateTime(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_checked_at', UTCDateTime(), nullable=True),
    sa.Column('last_seen_at', UTCDateTime(), nullable=True),
    sa.Column('rtt_ms', sa.Double(), nullable=True),
    sa.Column('method', sa.String(length=20), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.CheckConstraint("state IN ('up', 'down', 'unknown')", name=op.f('ck_network_states_state')),
    sa.ForeignKeyConstraint(['endpoint_id'], ['endpoints.id'], name=op.f('fk_network_states_endpoint_id_endpoints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('endpoint_id', name=op.f('pk_network_states'))
    )
    with op.batch_alter_table('network_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_network_states_state'), ['state'], unique=False)

    op.create_table('attendance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurrence_id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('marked_by_id', sa.Integer(), nullable=True),
    sa.Column('marked_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint("status <> 'absent' OR reason <> ''", name=op.f('ck_attendance_absent_reason')),
    sa.CheckConstraint("status IN ('present', 'late', 'absent')", name=op.f('ck_attendance_status')),
    sa.ForeignKeyConstraint(['endpoint_id'], ['endpoints.id'], name=op.f('fk_attendance_endpoint_id_endpoints')),
    sa.ForeignKeyConstraint(['marked_by_id'], ['users.id'], name=op.f('fk_attendance_marked_by_id_users')),
    sa.ForeignKeyConstraint(['occurrence_id'], ['occurrences.id'], name=op.f('fk_attendance_occurrence_id_occurrences'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance')),
    sa.UniqueConstraint('occurrence_id', 'endpoint_id', name='uq_attendance_occurrence_endpoint')
    )
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_endpoint_id'), ['endpoint_id'], unique=False)



def downgrade():
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_endpoint_id'))

    op.drop_table('attendance')
    with op.batch_alter_table('network_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_network_states_state'))

    op.drop_table('network_states')
    with op.batch_alter_table('network_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_network_events_occurred_at'))
        batch_op.drop_index('ix_network_events_endpoint_time')

    op.drop_table('network_events')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_status_opened')
        batch_op.drop_index('ix_incidents_endpoint_status')

    op.drop_table('incidents')
