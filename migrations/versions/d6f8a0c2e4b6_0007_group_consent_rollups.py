"""Per-group consent rollups (``group_consent_daily``), the log of contacts whose agreements were
deleted or changed (``group_consent_dirty``) and the triggers that fill it.

Triggers for the reason of 0006: agreements are deleted by cascades (a contact erased or purged,
a consent deleted) and moved by the tracking merge, outside the analytics package. One contact
of every group already in ``group_rollup_member`` is logged, so the rollup job's next activity
run counts every existing group's agreements (memberships still in ``group_member_change`` add
theirs when they are applied).

Revision ID: d6f8a0c2e4b6
Revises: c4e6a8b0d2f4
Create Date: 2026-11-29 20:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd6f8a0c2e4b6'
down_revision = 'c4e6a8b0d2f4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('group_consent_daily',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=False),
    sa.Column('agrees', sa.Integer(), nullable=False),
    sa.Column('revokes', sa.Integer(), nullable=False),
    sa.Column('net', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_group_consent_daily_consent_id_consent'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['contact_group.id'], name=op.f('fk_group_consent_daily_group_id_contact_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'day', 'consent_id', name=op.f('pk_group_consent_daily'))
    )
    op.create_table('group_consent_dirty',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('contact_id', name=op.f('pk_group_consent_dirty'))
    )
    op.execute(
        "INSERT INTO group_consent_dirty (contact_id) "
        "SELECT DISTINCT MIN(contact_id) FROM group_rollup_member GROUP BY group_id"
    )
    for statement in TRIGGERS[op.get_bind().dialect.name]:
        op.execute(statement)


# Columns whose change alters what an agreement adds to a rollup.
COUNTED = "contact_id, consent_id, action, created_at"

_SQLITE_DIRTY = "INSERT OR IGNORE INTO group_consent_dirty (contact_id) VALUES ({row}.contact_id);"
_POSTGRES_DIRTY = (
    "INSERT INTO group_consent_dirty (contact_id) VALUES ({row}.contact_id) "
    "ON CONFLICT DO NOTHING;"
)
TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER agreement_removed AFTER DELETE ON consent_agreement BEGIN "
        + _SQLITE_DIRTY.format(row="OLD") + " END",
        f"CREATE TRIGGER agreement_changed AFTER UPDATE OF {COUNTED} ON consent_agreement BEGIN "
        + _SQLITE_DIRTY.format(row="OLD") + " " + _SQLITE_DIRTY.format(row="NEW") + " END",
    ],
    "postgresql": [
        """CREATE FUNCTION agreement_contact_dirtied() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            """ + _POSTGRES_DIRTY.format(row="OLD") + """
            IF TG_OP = 'UPDATE' THEN
                """ + _POSTGRES_DIRTY.format(row="NEW") + """
            END IF;
            RETURN NULL;
        END $$""",
        "CREATE TRIGGER agreement_removed AFTER DELETE ON consent_agreement "
        "FOR EACH ROW EXECUTE FUNCTION agreement_contact_dirtied()",
        f"CREATE TRIGGER agreement_changed AFTER UPDATE OF {COUNTED} ON consent_agreement "
        "FOR EACH ROW EXECUTE FUNCTION agreement_contact_dirtied()",
    ],
}
DROP = {
    "sqlite": [
        "DROP TRIGGER agreement_removed",
        "DROP TRIGGER agreement_changed",
    ],
    "postgresql": [
        "DROP TRIGGER agreement_removed ON consent_agreement",
        "DROP TRIGGER agreement_changed ON consent_agreement",
        "DROP FUNCTION agreement_contact_dirtied()",
    ],
}


def downgrade():
    for statement in DROP[op.get_bind().dialect.name]:
        op.execute(statement)
    op.drop_table('group_consent_dirty')
    op.drop_table('group_consent_daily')
