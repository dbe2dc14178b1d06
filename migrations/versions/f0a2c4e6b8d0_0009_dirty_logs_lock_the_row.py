"""PostgreSQL: a deletion that finds its contact's day already in the dirty log locks that row.

The triggers of 0006 and 0007 log a deleted or changed activity's (contact, day), or an
agreement's contact, with ``ON CONFLICT DO NOTHING``. When the row is already there, the
deleting transaction leaves it as it is: if the rollup job reads and deletes that row and then
recounts the day while the deletion is still uncommitted, the recount misses the deletion, and
no row is left to have it recounted later (the group keeps counting the deleted activity).

``ON CONFLICT ... DO UPDATE ... WHERE false`` writes nothing either, but it locks the row: the
job's delete of the row then waits for the deleting transaction, so its recount, a later
statement, sees the deletion. SQLite is not affected: the job holds the database's write lock
for the whole run.

Revision ID: f0a2c4e6b8d0
Revises: e8b0d2f4a6c8
Create Date: 2026-11-29 23:00:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "f0a2c4e6b8d0"
down_revision = "e8b0d2f4a6c8"
branch_labels = None
depends_on = None

_ACTIVITY = (
    "INSERT INTO group_dirty_day (contact_id, day) "
    "VALUES ({row}.contact_id, ({row}.created_at AT TIME ZONE 'UTC')::date) {conflict};"
)
_AGREEMENT = "INSERT INTO group_consent_dirty (contact_id) VALUES ({row}.contact_id) {conflict};"
LOCK = {
    _ACTIVITY: "ON CONFLICT (contact_id, day) DO UPDATE SET day = EXCLUDED.day WHERE false",
    _AGREEMENT: "ON CONFLICT (contact_id) DO UPDATE SET contact_id = EXCLUDED.contact_id WHERE false",
}
FUNCTIONS = {"activity_day_dirtied": _ACTIVITY, "agreement_contact_dirtied": _AGREEMENT}


def _replace(locking):
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, statement in FUNCTIONS.items():
        conflict = LOCK[statement] if locking else "ON CONFLICT DO NOTHING"
        old = statement.format(row="OLD", conflict=conflict)
        new = statement.format(row="NEW", conflict=conflict)
        op.execute(
            f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                {old}
                IF TG_OP = 'UPDATE' THEN
                    {new}
                END IF;
                RETURN NULL;
            END $$"""
        )


def upgrade():
    _replace(True)


def downgrade():
    _replace(False)
