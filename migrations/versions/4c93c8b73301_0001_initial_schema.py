"""Initial schema for the whole domain, with built-in activity types and contact statuses.

Revision ID: 4c93c8b73301
Revises: 
Create Date: 2026-11-29 11:54:46.489123

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4c93c8b73301'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('activity_type',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_name', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=False),
    sa.Column('is_builtin', sa.Boolean(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_type')),
    sa.UniqueConstraint('code_name', name=op.f('uq_activity_type_code_name'))
    )
    op.create_table('consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_name', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('short_text', sa.Text(), nullable=False),
    sa.Column('full_text', sa.Text(), nullable=False),
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent')),
    sa.UniqueConstraint('code_name', name=op.f('uq_consent_code_name'))
    )
    op.create_table('contact_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_name', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('condition', sa.JSON(), nullable=True),
    sa.Column('status', sa.Enum('ready', 'condition_changed', 'calculating', name='groupstatus', native_enum=False, length=20), nullable=False),
    sa.Column('last_calculated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_group')),
    sa.UniqueConstraint('code_name', name=op.f('uq_contact_group_code_name'))
    )
    op.create_table('contact_status',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_name', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_status')),
    sa.UniqueConstraint('code_name', name=op.f('uq_contact_status_code_name'))
    )
    op.create_table('login_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failure'))
    )
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.create_index('ix_login_failure_address_created', ['address', 'created_at'], unique=False)
        batch_op.create_index('ix_login_failure_email_created', ['email', 'created_at'], unique=False)

    op.create_table('setting',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_setting'))
    )
    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('marketer', 'channel_manager', 'analyst', 'admin', name='role', native_enum=False, length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('session_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user')),
    sa.UniqueConstraint('email', name=op.f('uq_user_email')),
    sa.UniqueConstraint('session_token', name=op.f('uq_user_session_token'))
    )
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_email', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=64), nullable=True),
    sa.Column('target_id', sa.String(length=64), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_audit_entry_actor_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry'))
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index('ix_audit_entry_created', ['created_at'], unique=False)
        batch_op.create_index('ix_audit_entry_target', ['target_type', 'target_id', 'created_at'], unique=False)

    op.create_table('channel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_name', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.Enum('website', 'email', 'headless', name='channeltype', native_enum=False, length=20), nullable=False),
    sa.Column('default_cookie_level', sa.Integer(), nullable=False),
    sa.Column('tracking_consent_id', sa.Integer(), nullable=True),
    sa.Column('honour_gpc', sa.Boolean(), nullable=False),
    sa.Column('count_untracked', sa.Boolean(), nullable=False),
    sa.Column('erase_on_revoke', sa.Boolean(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('default_cookie_level IN (-1000, -100, 0, 100, 200, 1000)', name=op.f('ck_channel_cookie_level')),
    sa.ForeignKeyConstraint(['tracking_consent_id'], ['consent.id'], name=op.f('fk_channel_tracking_consent_id_consent'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel')),
    sa.UniqueConstraint('code_name', name=op.f('uq_channel_code_name'))
    )
    op.create_table('consent_archive',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=False),
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('short_text', sa.Text(), nullable=False),
    sa.Column('full_text', sa.Text(), nullable=False),
    sa.Column('translations', sa.JSON(), nullable=True),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_consent_archive_consent_id_consent'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_archive')),
    sa.UniqueConstraint('consent_id', 'text_hash', name=op.f('uq_consent_archive_consent_id_text_hash'))
    )
    op.create_table('consent_translation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=10), nullable=False),
    sa.Column('short_text', sa.Text(), nullable=False),
    sa.Column('full_text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_consent_translation_consent_id_consent'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_translation')),
    sa.UniqueConstraint('consent_id', 'language', name=op.f('uq_consent_translation_consent_id_language'))
    )
    op.create_table('contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guid', sa.Uuid(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('middle_name', sa.String(length=100), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('company', sa.String(length=200), nullable=True),
    sa.Column('job_title', sa.String(length=200), nullable=True),
    sa.Column('address', sa.String(length=400), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('zip', sa.String(length=20), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('mobile_phone', sa.String(length=50), nullable=True),
    sa.Column('business_phone', sa.String(length=50), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('status_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_activity_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['status_id'], ['contact_status.id'], name=op.f('fk_contact_status_id_contact_status'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact')),
    sa.UniqueConstraint('email', name=op.f('uq_contact_email')),
    sa.UniqueConstraint('guid', name=op.f('uq_contact_guid'))
    )
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_country'), ['country'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_contact_last_activity_at_id', ['last_activity_at', 'id'], unique=False)
        batch_op.create_index('ix_contact_last_name_id', ['last_name', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_status_id'), ['status_id'], unique=False)

    op.create_table('activity',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.Uuid(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('type_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=250), nullable=True),
    sa.Column('value', sa.String(length=250), nullable=True),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('referrer', sa.String(length=2000), nullable=True),
    sa.Column('utm_source', sa.String(length=250), nullable=True),
    sa.Column('utm_medium', sa.String(length=250), nullable=True),
    sa.Column('utm_campaign', sa.String(length=250), nullable=True),
    sa.Column('utm_content', sa.String(length=250), nullable=True),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], name=op.f('fk_activity_channel_id_channel'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_activity_contact_id_contact'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['type_id'], ['activity_type.id'], name=op.f('fk_activity_type_id_activity_type'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity')),
    sa.UniqueConstraint('event_id', name=op.f('uq_activity_event_id'))
    )
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.create_index('ix_activity_channel_created', ['channel_id', 'created_at'], unique=False)
        batch_op.create_index('ix_activity_contact_created', ['contact_id', 'created_at'], unique=False)
        batch_op.create_index('ix_activity_created', ['created_at'], unique=False)
        batch_op.create_index('ix_activity_type_created', ['type_id', 'created_at'], unique=False)

    op.create_table('channel_api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], name=op.f('fk_channel_api_key_channel_id_channel'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_api_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_channel_api_key_key_hash'))
    )
    with op.batch_alter_table('channel_api_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_api_key_channel_id'), ['channel_id'], unique=False)

    op.create_table('channel_origin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], name=op.f('fk_channel_origin_channel_id_channel'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_origin')),
    sa.UniqueConstraint('channel_id', 'origin', name=op.f('uq_channel_origin_channel_id_origin'))
    )
    op.create_table('consent_agreement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.Enum('agree', 'revoke', name='agreementaction', native_enum=False, length=10), nullable=False),
    sa.Column('text_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_consent_agreement_consent_id_consent'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_consent_agreement_contact_id_contact'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_agreement'))
    )
    with op.batch_alter_table('consent_agreement', schema=None) as batch_op:
        batch_op.create_index('ix_consent_agreement_consent_created', ['consent_id', 'created_at'], unique=False)
        batch_op.create_index('ix_consent_agreement_contact_consent', ['contact_id', 'consent_id', 'id'], unique=False)

    op.create_table('contact_alias',
    sa.Column('guid', sa.Uuid(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_contact_alias_contact_id_contact'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('guid', name=op.f('pk_contact_alias'))
    )
    with op.batch_alter_table('contact_alias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_alias_contact_id'), ['contact_id'], unique=False)

    op.create_table('contact_group_member',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('by_condition', sa.Boolean(), nullable=False),
    sa.Column('manual', sa.Boolean(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_contact_group_member_contact_id_contact'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['contact_group.id'], name=op.f('fk_contact_group_member_group_id_contact_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'contact_id', name=op.f('pk_contact_group_member'))
    )
    with op.batch_alter_table('contact_group_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_group_member_contact_id'), ['contact_id'], unique=False)

    op.create_table('hit_counter',
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('activity_type', sa.String(length=100), nullable=False),
    sa.Column('claimed_level', sa.Integer(), nullable=False),
    sa.Column('has_agreement', sa.Boolean(), nullable=False),
    sa.Column('gpc', sa.Boolean(), nullable=False),
    sa.Column('tracked', sa.Boolean(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], name=op.f('fk_hit_counter_channel_id_channel'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('channel_id', 'day', 'activity_type', 'claimed_level', 'has_agreement', 'gpc', 'tracked', name=op.f('pk_hit_counter'))
    )
    op.create_table('membership_refresh',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_membership_refresh_contact_id_contact'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('contact_id', name=op.f('pk_membership_refresh'))
    )
    op.create_table('rate_limit_window',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('window', sa.Integer(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window', name=op.f('pk_rate_limit_window'))
    )
    # ### end Alembic commands ###
    seed_reference_data()


# Frozen copies: a migration must not import application code that later changes.
BUILTIN_ACTIVITY_TYPES = [
    ("pagevisit", "Page visit", "A visitor viewed a page."),
    ("landingpage", "Landing page", "First page of a visit (no CMSLandingPageLoaded cookie)."),
    ("click", "Click", "A visitor clicked a tracked element."),
    ("datainput", "Data input", "A visitor entered data into a form field set."),
    ("bizformsubmit", "Form submission", "A visitor submitted a form."),
    ("emailclick", "Email link click", "A contact clicked a tracked link in an email."),
    ("memberregistration", "Member registration", "A visitor registered as a member."),
]
CONTACT_STATUSES = [
    ("lead", "Lead"),
    ("prospect", "Prospect"),
    ("customer", "Customer"),
    ("inactive", "Inactive"),
]


def seed_reference_data():
    activity_type = sa.table(
        "activity_type",
        sa.column("code_name", sa.String),
        sa.column("display_name", sa.String),
        sa.column("description", sa.String),
        sa.column("is_builtin", sa.Boolean),
        sa.column("enabled", sa.Boolean),
    )
    op.bulk_insert(
        activity_type,
        [
            {"code_name": c, "display_name": n, "description": d, "is_builtin": True, "enabled": True}
            for c, n, d in BUILTIN_ACTIVITY_TYPES
        ],
    )
    contact_status = sa.table(
        "contact_status", sa.column("code_name", sa.String), sa.column("display_name", sa.String)
    )
    op.bulk_insert(contact_status, [{"code_name": c, "display_name": n} for c, n in CONTACT_STATUSES])


def downgrade():
    op.drop_table('rate_limit_window')
    op.drop_table('membership_refresh')
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_table('hit_counter')
    with op.batch_alter_table('contact_group_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_group_member_contact_id'))

    op.drop_table('contact_group_member')
    with op.batch_alter_table('contact_alias', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_alias_contact_id'))

    op.drop_table('contact_alias')
    with op.batch_alter_table('consent_agreement', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_agreement_contact_consent')
        batch_op.drop_index('ix_consent_agreement_consent_created')

    op.drop_table('consent_agreement')
    op.drop_table('channel_origin')
    with op.batch_alter_table('channel_api_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_api_key_channel_id'))

    op.drop_table('channel_api_key')
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_type_created')
        batch_op.drop_index('ix_activity_created')
        batch_op.drop_index('ix_activity_contact_created')
        batch_op.drop_index('ix_activity_channel_created')

    op.drop_table('activity')
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_status_id'))
        batch_op.drop_index('ix_contact_last_name_id')
        batch_op.drop_index('ix_contact_last_activity_at_id')
        batch_op.drop_index(batch_op.f('ix_contact_created_at'))
        batch_op.drop_index(batch_op.f('ix_contact_country'))

    op.drop_table('contact')
    op.drop_table('consent_translation')
    op.drop_table('consent_archive')
    op.drop_table('channel')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entry_target')
        batch_op.drop_index('ix_audit_entry_created')

    op.drop_table('audit_entry')
    op.drop_table('user')
    op.drop_table('setting')
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failure_email_created')
        batch_op.drop_index('ix_login_failure_address_created')

    op.drop_table('login_failure')
    op.drop_table('contact_status')
    op.drop_table('contact_group')
    op.drop_table('consent')
    op.drop_table('activity_type')
    # ### end Alembic commands ###
