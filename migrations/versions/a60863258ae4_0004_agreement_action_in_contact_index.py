"""Agreements by contact and consent carry the action: "agreed with consent" reads only the index.

The newest agreement row of a (contact, consent) decides (R14). With ``action`` as the index's
last column, segment rules and consent checks find that row's action in the index instead of
reading the table row too (bench/groups.py).

Revision ID: a60863258ae4
Revises: 342b6b75668b
Create Date: 2026-11-29 15:42:33.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a60863258ae4'
down_revision = '342b6b75668b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consent_agreement', schema=None) as batch_op:
        batch_op.create_index('ix_consent_agreement_contact_consent_action', ['contact_id', 'consent_id', 'id', 'action'], unique=False)
        batch_op.drop_index('ix_consent_agreement_contact_consent')


def downgrade():
    with op.batch_alter_table('consent_agreement', schema=None) as batch_op:
        batch_op.create_index('ix_consent_agreement_contact_consent', ['contact_id', 'consent_id', 'id'], unique=False)
        batch_op.drop_index('ix_consent_agreement_contact_consent_action')
