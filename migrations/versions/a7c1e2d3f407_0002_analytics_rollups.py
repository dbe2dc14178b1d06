"""Analytics rollups: daily aggregates, pages, the contact sample and the rollup job's state.

Revision ID: a7c1e2d3f407
Revises: 4c93c8b73301
Create Date: 2026-11-29 12:39:20.958352

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c1e2d3f407'
down_revision = '4c93c8b73301'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('analytics_page',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('url_hash', sa.String(length=32), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('title', sa.String(length=250), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_page')),
    sa.UniqueConstraint('channel_id', 'url_hash', name=op.f('uq_analytics_page_channel_id_url_hash'))
    )
    op.create_table('contact_daily',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('contacts', sa.Integer(), nullable=False),
    sa.Column('identified', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_contact_daily'))
    )
    op.create_table('rollup_gap',
    sa.Column('stream', sa.String(length=40), nullable=False),
    sa.Column('first_id', sa.BigInteger(), nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('stream', 'first_id', name=op.f('pk_rollup_gap'))
    )
    op.create_table('rollup_state',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_rollup_state'))
    )
    op.create_table('source_daily',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('dimension', sa.String(length=20), nullable=False),
    sa.Column('value', sa.String(length=250), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'channel_id', 'dimension', 'value', name=op.f('pk_source_daily'))
    )
    op.create_table('activity_daily',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('type_id', sa.Integer(), nullable=False),
    sa.Column('activities', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['type_id'], ['activity_type.id'], name=op.f('fk_activity_daily_type_id_activity_type'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('day', 'channel_id', 'type_id', name=op.f('pk_activity_daily'))
    )
    op.create_table('consent_daily',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=False),
    sa.Column('agrees', sa.Integer(), nullable=False),
    sa.Column('revokes', sa.Integer(), nullable=False),
    sa.Column('net', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_consent_daily_consent_id_consent'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('day', 'consent_id', name=op.f('pk_consent_daily'))
    )
    op.create_table('page_daily',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=False),
    sa.Column('type_id', sa.Integer(), nullable=False),
    sa.Column('views', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['page_id'], ['analytics_page.id'], name=op.f('fk_page_daily_page_id_analytics_page'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['type_id'], ['activity_type.id'], name=op.f('fk_page_daily_type_id_activity_type'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('day', 'page_id', 'type_id', name=op.f('pk_page_daily'))
    )
    op.create_table('activity_sample',
    sa.Column('activity_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('type_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activity.id'], name=op.f('fk_activity_sample_activity_id_activity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_activity_sample_contact_id_contact'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('activity_id', name=op.f('pk_activity_sample'))
    )
    with op.batch_alter_table('activity_sample', schema=None) as batch_op:
        batch_op.create_index('ix_activity_sample_contact', ['contact_id'], unique=False)
        batch_op.create_index('ix_activity_sample_created', ['created_at'], unique=False)



def downgrade():
    with op.batch_alter_table('activity_sample', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_sample_created')
        batch_op.drop_index('ix_activity_sample_contact')

    op.drop_table('activity_sample')
    op.drop_table('page_daily')
    op.drop_table('consent_daily')
    op.drop_table('activity_daily')
    op.drop_table('source_daily')
    op.drop_table('rollup_state')
    op.drop_table('rollup_gap')
    op.drop_table('contact_daily')
    op.drop_table('analytics_page')
