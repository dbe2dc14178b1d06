"""Activities by contact and type: segment rules that name an activity type read only this index.

Revision ID: 342b6b75668b
Revises: a7c1e2d3f407
Create Date: 2026-11-29 14:54:56.858155

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '342b6b75668b'
down_revision = 'a7c1e2d3f407'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.create_index('ix_activity_contact_type_created', ['contact_id', 'type_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_contact_type_created')
