"""The membership refresh queue (R17) accepts repeats and set-based queueing."""

from sqlalchemy import select

from dashboard.extensions import db
from dashboard.groups.freshness import queue_membership_refresh, queue_membership_refresh_where
from dashboard.models import Contact, MembershipRefresh


def test_queue_is_idempotent_and_set_based(app):
    contacts = [
        Contact(email=f"q{i}@example.com", country="DE" if i % 2 else "FR") for i in range(4)
    ]
    db.session.add_all(contacts)
    db.session.commit()
    queue_membership_refresh([contacts[0].id, contacts[0].id])
    queue_membership_refresh([contacts[0].id])
    queue_membership_refresh_where(Contact.country == "DE")
    queue_membership_refresh_where(Contact.country == "DE")
    db.session.commit()
    queued = set(db.session.scalars(select(MembershipRefresh.contact_id)))
    assert queued == {contacts[0].id, contacts[1].id, contacts[3].id}
