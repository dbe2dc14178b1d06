"""A default-level change saved through the channel page changes the very next tracking answer
(no stale copy in any worker: the API reads the channel on every request)."""

from sqlalchemy import select

from dashboard.extensions import db
from dashboard.models import AuditEntry, Role
from tests import factories
from tests.tracking_helpers import collect


def _save_level(client, channel, level: int):
    return client.post(
        f"/channels/{channel.id}/edit",
        data={
            "display_name": channel.display_name,
            "default_cookie_level": str(level),
            "allowed_origins": factories.ORIGIN,
            "tracking_consent_id": "",
            "honour_gpc": "y",
            "count_untracked": "y",
            "enabled": "y",
            "submit": "Save",
        },
    )


def test_level_change_through_the_page_changes_the_next_collect_answer(
    app, client, other_app, login_as
):
    channel = factories.channel("shop-site", level=1000)
    tracker = other_app.test_client()  # another worker process answers the tracking requests
    assert collect(tracker, "shop-site").get_json()["tracked"] is True

    login_as(Role.CHANNEL_MANAGER)
    assert _save_level(client, channel, 0).status_code == 302
    after = collect(tracker, "shop-site").get_json()
    assert after["tracked"] is False and after["cookie_level"] == 0

    assert _save_level(client, channel, 200).status_code == 302
    assert collect(tracker, "shop-site").get_json()["tracked"] is True
    changes = db.session.scalars(
        select(AuditEntry.details)
        .where(AuditEntry.action == "channel.cookie_level")
        .order_by(AuditEntry.id)
    ).all()
    assert [(c["from"], c["to"]) for c in changes] == [(1000, 0), (0, 200)]
