"""Operation progress: how far an import, a group recalculation or a purge has got.

Revision ID: b3d5f7a9c1e2
Revises: a60863258ae4
Create Date: 2026-11-29 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3d5f7a9c1e2'
down_revision = 'a60863258ae4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'operation_progress',
        sa.Column('key', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('subject', sa.String(length=64), nullable=True),
        sa.Column('permission', sa.String(length=40), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=True),
        sa.Column('message', sa.String(length=300), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_operation_progress')),
    )
    op.create_index(
        'ix_operation_progress_subject', 'operation_progress', ['kind', 'subject', 'started_at']
    )


def downgrade():
    op.drop_index('ix_operation_progress_subject', table_name='operation_progress')
    op.drop_table('operation_progress')
