"""SQLite: ids of contacts, activities and agreements are never reused (``AUTOINCREMENT``).

The analytics rollup job reads each of these tables above an id position (``rollups.py``).
Without ``AUTOINCREMENT`` SQLite gives a new row ``max(id) + 1``, so after the newest rows are
deleted (an erasure, a purge, a merge) the next row takes an id the job has already passed, and
that row is never rolled up: its group's rollups miss it for good. PostgreSQL sequences never go
back; nothing changes there.

SQLite cannot change a table's key in place, so each table is rebuilt (a copy: on a store of ten
million activities this took 3 minutes), and its triggers, which go with the old table, are
created again from their stored SQL, as are its planner statistics when it had any.

Revision ID: e8b0d2f4a6c8
Revises: d6f8a0c2e4b6
Create Date: 2026-11-29 22:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e8b0d2f4a6c8'
down_revision = 'd6f8a0c2e4b6'
branch_labels = None
depends_on = None

TABLES = ('contact', 'activity', 'consent_agreement')


def _rebuild(autoincrement):
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return
    for table in TABLES:
        triggers = bind.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
            {'t': table},
        ).scalars().all()
        # The planner's statistics go with the old table: gather them again where there were any.
        analyzed = bind.execute(
            sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        ).first() and bind.execute(
            sa.text("SELECT 1 FROM sqlite_stat1 WHERE tbl = :t"), {'t': table}
        ).first()
        with op.batch_alter_table(
            table, recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}
        ):
            pass
        for statement in triggers:
            op.execute(statement)
        if analyzed:
            op.execute(f'ANALYZE "{table}"')


def upgrade():
    _rebuild(True)


def downgrade():
    _rebuild(False)
