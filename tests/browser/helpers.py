"""What the journey and screenshot tests share: a demo store, logging in, reading downloads and
tables the way a person reads them."""

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import func, select

from dashboard.analytics.rollups import backfill_rollups
from dashboard.demo_data import seed_demo
from dashboard.extensions import db
from dashboard.groups.services import recalculate
from dashboard.models import (
    Activity,
    Channel,
    ConsentAgreement,
    Contact,
    ContactGroup,
    Role,
)
from tests import factories

# Small enough to seed in a second or two, large enough for every chart to have data.
JOURNEY_CONTACTS = 300
JOURNEY_DAYS = 30
# A browser test waits at most this long (ms) for anything it expects to see: generous, because
# the machines running the suite are shared; a test that passes never waits for it.
WAIT_MS = 20_000
expect.set_options(timeout=WAIT_MS)


def seed_demo_store(contacts: int = JOURNEY_CONTACTS, days: int = JOURNEY_DAYS) -> None:
    """The demo data ``make run`` loads (smaller), with the rollups the charts read."""
    seed_demo(contacts=contacts, days=days, seed=42)
    backfill_rollups()
    db.session.rollback()


@dataclass(frozen=True)
class Person:
    """A demo contact and how much is held about it."""

    id: int
    email: str
    name: str
    activities: int
    agreements: int


def busiest_contact() -> Person:
    """The identified demo contact with the most activities and at least one agreement."""
    activities = select(func.count()).where(Activity.contact_id == Contact.id).scalar_subquery()
    agreements = (
        select(func.count()).where(ConsentAgreement.contact_id == Contact.id).scalar_subquery()
    )
    contact, held, agreed = db.session.execute(
        select(Contact, activities, agreements)
        .where(Contact.email.is_not(None), agreements > 0)
        .order_by(activities.desc(), Contact.id)
        .limit(1)
    ).one()
    person = Person(
        contact.id, contact.email, f"{contact.first_name} {contact.last_name}", held, agreed
    )
    db.session.rollback()
    return person


def calculated_group(code: str, name: str, condition: dict, description: str = "") -> int:
    """A contact group a marketer made earlier, with its members calculated; its id."""
    group = ContactGroup(
        code_name=code, display_name=name, description=description, condition=condition
    )
    db.session.add(group)
    db.session.commit()
    recalculate(group.id)
    group_id = group.id
    db.session.rollback()
    return group_id


def channel_id(code: str) -> int:
    """The id of the channel with this code name."""
    found = db.session.scalar(select(Channel.id).where(Channel.code_name == code))
    db.session.rollback()
    return found


def user(role: Role) -> str:
    """Create a user of ``role``; return the email to log in with."""
    email = factories.user(role=role).email
    db.session.rollback()
    return email


def log_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    """Log in through the form, as a person does, and land on the overview."""
    page.goto(f"{base}/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Overview", level=1).wait_for(timeout=WAIT_MS)


def go_to(page, area: str) -> None:  # type: ignore[no-untyped-def]
    """Follow an entry of the main navigation."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name=area, exact=True).click()


def detail_value(page, term: str):  # type: ignore[no-untyped-def]
    """The value next to ``term`` in a page's definition list (profile, group, channel)."""
    return page.locator(f"xpath=//dt[normalize-space()='{term}']/following-sibling::dd[1]")


def flash_text(page) -> str:  # type: ignore[no-untyped-def]
    """The flash messages shown at the top of the page."""
    flashes = page.locator(".flashes")
    flashes.wait_for(timeout=WAIT_MS)
    return " ".join(flashes.all_inner_texts())


def tracked_visit(page, url: str) -> dict:  # type: ignore[no-untyped-def]
    """Open a page that embeds the snippet; return the tracking API's answer to its page visit."""

    def is_collect(response) -> bool:  # type: ignore[no-untyped-def]
        return response.url.endswith("/t/v1/collect") and response.request.method == "POST"

    with page.expect_response(is_collect) as answer:
        page.goto(url)
    assert answer.value.status == 200, answer.value.text()
    return answer.value.json()


def saved_download(download, folder: Path) -> str:  # type: ignore[no-untyped-def]
    """Save a Playwright download and return its text."""
    target = folder / download.suggested_filename
    download.save_as(target)
    return target.read_text(encoding="utf-8")


def csv_rows(text: str) -> list[list[str]]:
    """The rows of a CSV text."""
    return list(csv.reader(io.StringIO(text)))


def table_rows(table) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The cells of a table's body as shown (header cells of rows included)."""
    return table.evaluate(
        "t => Array.from(t.tBodies[0].rows, r => Array.from(r.cells, c => c.textContent.trim()))"
    )


def table_header(table) -> list[str]:  # type: ignore[no-untyped-def]
    """The column headings of a table."""
    return table.evaluate("t => Array.from(t.tHead.rows[0].cells, c => c.textContent.trim())")


_NUMBER = re.compile(r"-?[\d,]*\.?\d+")


def same_cell(shown: str, exported: str) -> bool:
    """Whether a table cell (``1,234``, ``12.3``, ``—``) shows the exported CSV value."""
    if shown == "—":
        return exported == ""
    if _NUMBER.fullmatch(shown) and _NUMBER.fullmatch(exported):
        value = float(shown.replace(",", ""))
        digits = len(shown.split(".")[1]) if "." in shown else 0
        return round(float(exported.replace(",", "")), digits) == value
    return shown == exported
