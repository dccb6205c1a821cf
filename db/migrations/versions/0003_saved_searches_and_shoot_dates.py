"""Saved searches that alert, notifications, shoot dates, availability and travel radius (issue 17)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

- notifications: what a person is told (stored, listed, marked read), and how its e-mail goes:
  `email` is 'instant', 'daily' (waits for the person's morning digest) or 'none'; `emailed_at` marks
  it sent. notification_preferences: one row per person who changed a default (time zone, digest hour,
  e-mail off through the one-click unsubscribe); `last_digest_on` makes the digest once a local day.
- saved_searches: a person's project search (the same filters as /search/projects, as JSON), named,
  instant or daily; `query` is the OpenSearch query the search engine builds from those filters, written
  at save time by the domain (the indexer copies it into the percolator index and cannot build it). The pre-filter columns (project_types, area = the envelope of the centre + radius
  or the bbox, GiST) let the PostGIS-only path narrow the candidates for a changed project the way the
  OpenSearch percolator's pre-filter does; each candidate is then checked exactly.
- saved_search_alerts: one row per (saved search, project) ever alerted, the primary key is the
  "never twice" rule, written in the same transaction as the notification.
- Shoot dates: projects and roles gain `shoot_dates` (datemultirange: one range or several; a role
  without its own takes the project's). Profiles gain `unavailable` (datemultirange of booked or
  unavailable days, GiST: "free on all the shoot dates" is NOT unavailable && shoot_dates) and
  `willing_to_travel_km` (0 = local only). `location_grid` is the privacy-snapped point
  (api/kernel/location.snap_sql, written out here as it was on this date), generated and GiST-indexed
  so the "who can work my shoot" distance runs on an index, never on the exact point.
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# api.kernel.location.snap_sql as of 2026-11-30: round half up to 0.01 degree in float8.
_SNAP = "floor(({d})::float8 * 100::float8 + 0.5::float8) / 100::float8"
LOCATION_GRID = ("CASE WHEN location IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint("
                 + _SNAP.format(d="ST_X(location::geometry)") + ", "
                 + _SNAP.format(d="ST_Y(location::geometry)") + "), 4326)::geography END")


def upgrade() -> None:
    # ---------------------------------------------------------------- shoot dates and availability
    op.add_column('projects', sa.Column('shoot_dates', postgresql.DATEMULTIRANGE(), nullable=True))
    op.create_index('ix_projects_shoot_dates', 'projects', ['shoot_dates'], postgresql_using='gist')
    op.add_column('project_roles', sa.Column('shoot_dates', postgresql.DATEMULTIRANGE(), nullable=True))
    op.add_column('user_profiles', sa.Column('unavailable', postgresql.DATEMULTIRANGE(),
                                             server_default=sa.text("'{}'::datemultirange"), nullable=False))
    op.add_column('user_profiles', sa.Column('willing_to_travel_km', sa.Integer(), server_default=sa.text('0'),
                                             nullable=False))
    op.create_check_constraint(op.f('ck_user_profiles_travel_range'), 'user_profiles',
                               'willing_to_travel_km >= 0 AND willing_to_travel_km <= 20000')
    op.create_index('ix_user_profiles_unavailable', 'user_profiles', ['unavailable'], postgresql_using='gist')
    op.execute(f"ALTER TABLE user_profiles ADD COLUMN location_grid geography(Point, 4326) "
               f"GENERATED ALWAYS AS ({LOCATION_GRID}) STORED")
    op.create_index('ix_user_profiles_location_grid', 'user_profiles', ['location_grid'], postgresql_using='gist')

    # ---------------------------------------------------------------- notifications
    op.create_table('notifications',
    sa.Column('id', sa.BigInteger(), sa.Identity(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=True),
    sa.Column('email', sa.String(length=16), server_default='instant', nullable=False),
    sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("email IN ('instant', 'daily', 'none')", name=op.f('ck_notifications_email_mode')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_notifications_project_id_projects'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    op.create_index('ix_notifications_user_id_id', 'notifications', ['user_id', 'id'])
    op.create_index('ix_notifications_unread', 'notifications', ['user_id'], postgresql_where=sa.text('read_at IS NULL'))
    op.create_index('ix_notifications_digest_due', 'notifications', ['user_id', 'id'],
                    postgresql_where=sa.text("email = 'daily' AND emailed_at IS NULL"))
    op.create_index('ix_notifications_project_id', 'notifications', ['project_id'])
    op.create_table('notification_preferences',
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('email_enabled', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False),
    sa.Column('digest_hour', sa.SmallInteger(), server_default=sa.text('8'), nullable=False),
    sa.Column('last_digest_on', sa.Date(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('digest_hour >= 0 AND digest_hour <= 23', name=op.f('ck_notification_preferences_digest_hour')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_preferences'))
    )

    # ---------------------------------------------------------------- saved searches
    op.create_table('saved_searches',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('filters', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('query', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('frequency', sa.String(length=16), server_default='instant', nullable=False),
    sa.Column('project_types', postgresql.ARRAY(sa.String(length=32)), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('area', geoalchemy2.types.Geometry(geometry_type='POLYGON', srid=4326, spatial_index=False,
                                                 from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('fits_my_availability', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('search_version', sa.BigInteger(), server_default=sa.text('1'), nullable=False),
    sa.CheckConstraint("frequency IN ('instant', 'daily')", name=op.f('ck_saved_searches_frequency')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_searches_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_searches'))
    )
    op.create_index('ix_saved_searches_user_id', 'saved_searches', ['user_id'])
    op.create_index('ix_saved_searches_area', 'saved_searches', ['area'], postgresql_using='gist')
    op.create_index('ix_saved_searches_project_types', 'saved_searches', ['project_types'], postgresql_using='gin')
    op.create_table('saved_search_alerts',
    sa.Column('saved_search_id', sa.UUID(), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('notification_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['saved_search_id'], ['saved_searches.id'],
                            name=op.f('fk_saved_search_alerts_saved_search_id_saved_searches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_saved_search_alerts_project_id_projects'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'],
                            name=op.f('fk_saved_search_alerts_notification_id_notifications'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('saved_search_id', 'project_id', name=op.f('pk_saved_search_alerts'))
    )
    op.create_index('ix_saved_search_alerts_project_id', 'saved_search_alerts', ['project_id'])


def downgrade() -> None:
    op.drop_table('saved_search_alerts')
    op.drop_table('saved_searches')
    op.drop_table('notification_preferences')
    op.drop_table('notifications')
    op.drop_index('ix_user_profiles_location_grid', table_name='user_profiles')
    op.execute("ALTER TABLE user_profiles DROP COLUMN location_grid")
    op.drop_index('ix_user_profiles_unavailable', table_name='user_profiles')
    op.drop_constraint(op.f('ck_user_profiles_travel_range'), 'user_profiles', type_='check')
    op.drop_column('user_profiles', 'willing_to_travel_km')
    op.drop_column('user_profiles', 'unavailable')
    op.drop_column('project_roles', 'shoot_dates')
    op.drop_index('ix_projects_shoot_dates', table_name='projects')
    op.drop_column('projects', 'shoot_dates')
