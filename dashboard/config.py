"""Safe defaults; override in ``instance/config.py`` or ``DASHBOARD_*`` environment variables."""

from datetime import timedelta

# Development-only placeholder; create_app() refuses to start with it outside debug/testing.
SECRET_KEY = "dev-insecure-change-me"  # noqa: S105

# Empty means "SQLite file in the instance folder" (instance/dashboard.sqlite).
DATABASE_URL = ""
# SQLite journal mode. "delete" (rollback journal) is safe for several writing processes on every
# SQLite version; "wal" is accepted only from SQLite 3.51.3 on (earlier versions have a WAL-reset
# bug that can corrupt a database written by several connections). See README, "Engines".
SQLITE_JOURNAL_MODE = "delete"
SQLITE_BUSY_TIMEOUT_MS = 15000

SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
SQLALCHEMY_TRACK_MODIFICATIONS = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# None: Secure is decided per request (set when the request arrived over HTTPS).
SESSION_COOKIE_SECURE = None
PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
REMEMBER_COOKIE_HTTPONLY = True

WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

# Failed-login throttling, counted in the database so it holds across worker processes.
LOGIN_THROTTLE_WINDOW_SECONDS = 900
LOGIN_THROTTLE_MAX_PER_EMAIL = 5
LOGIN_THROTTLE_MAX_PER_ADDRESS = 30

# Number of proxies in front of the app whose X-Forwarded-* headers are trusted (0 = none).
TRUSTED_PROXIES = 0

MAX_CONTENT_LENGTH = 16 * 1024 * 1024  # dashboard uploads (CSV import); the tracking API has 64 KiB

# Tracking API rate limits (requests per minute), counted in the database across processes.
TRACKING_RATE_LIMIT_CHANNEL_PER_MINUTE = 30000
TRACKING_RATE_LIMIT_ADDRESS_PER_MINUTE = 1200
# Group commit: a writer thread per process shares one transaction among concurrent tracking
# requests (see dashboard/tracking/writer.py). Pair it with threaded workers (gunicorn gthread).
TRACKING_GROUP_COMMIT = True

# Contact groups: every app process drains the membership-refresh queue this often (seconds), so
# a contact's groups follow its changes within seconds (R17). 0 = off (then run
# `flask refresh-groups` from cron). See dashboard/groups/refresher.py.
GROUP_REFRESH_INTERVAL_SECONDS = 2.0
# Analytics rollups: every app process rolls up new activities this often (seconds); 0 = off
# (then run `flask refresh-rollups` from cron). See dashboard/analytics/worker.py.
ANALYTICS_ROLLUP_INTERVAL = 10.0
# The reconciler (one day recounted from the raw tables) runs at most this often (seconds), for
# all processes together.
ANALYTICS_RECONCILE_INTERVAL = 60.0
