"""Progress in the browser: a page polls a long operation's figures while it runs and says when
it ends; the import form reveals its progress box when it is submitted (the polling of which the
first test covers; a three-row import ends before the first poll)."""

import itertools

import pytest

from dashboard.groups.membership import RECALCULATION
from dashboard.models import Role
from dashboard.permissions import Permission
from dashboard.progress import ProgressRecorder, Step
from tests import factories
from tests.browser.site_pages import log_in
from tests.test_groups import GERMANS, saved_group

pytestmark = pytest.mark.browser

CSV = "email,country\n" + "".join(f"p{n}@example.com,DE\n" for n in range(3))


def test_group_page_follows_a_running_recalculation(page, live_server):
    factories.user(role=Role.MARKETER, email="watch@example.com")
    group = saved_group(condition=GERMANS)
    run = ProgressRecorder(
        RECALCULATION,
        Permission.MANAGE_GROUPS,
        "Recalculating the members (scheduled run)",
        subject=str(group.id),
        clock=itertools.count(0, 5).__next__,  # every step is written
    ).start()
    run(Step("contacts up to id 100 of 400", 100, 400))
    log_in(page, live_server, "watch@example.com")
    page.goto(f"{live_server}/contacts/groups/{group.id}")
    box = page.locator("#recalculation-progress")
    bar = box.locator("progress")
    page.wait_for_function(
        "() => document.querySelector('[data-progress-text]').textContent.includes('(25%)')"
    )
    assert bar.evaluate("b => [b.value, b.max]") == [100, 400]

    run(Step("contacts up to id 300 of 400", 300, 400))  # the next poll shows it
    box.get_by_text("contacts up to id 300 of 400 (75%)").wait_for()
    assert bar.evaluate("b => [b.value, b.max]") == [300, 400]

    run.finish("Recalculated: 12 members in 3.0s.")
    box.get_by_text("Finished: Recalculated: 12 members in 3.0s.", exact=True).wait_for()
    assert "Finished" in box.locator("[role=status]").text_content()  # announced
    box.get_by_role("link", name="Show the new figures").click()
    page.get_by_role("button", name="Recalculate").wait_for()  # the run is over


def test_import_shows_its_progress_box_while_the_server_works(page, live_server, tmp_path):
    factories.user(role=Role.MARKETER, email="importer@example.com")
    log_in(page, live_server, "importer@example.com")
    page.goto(f"{live_server}/contacts/import")
    upload = tmp_path / "people.csv"
    upload.write_text(CSV)
    page.set_input_files("input[type=file]", str(upload))
    page.get_by_role("button", name="Check file").click()
    box = page.locator("#import-progress")
    assert box.is_hidden()

    # Note what the box shows once revealed; sessionStorage outlives the page the server's
    # answer replaces.
    page.evaluate(
        """() => {
          const box = document.getElementById("import-progress");
          new MutationObserver(() => {
            if (!box.hidden) sessionStorage.setItem("shown", box.textContent.replace(/\\s+/g, " "));
          }).observe(box, {attributes: true});
        }"""
    )
    page.get_by_role("button", name="Import 3 rows").click()
    page.wait_for_url(f"{live_server}/contacts/")
    assert "Imported 3 rows: 3 contacts created, 0 updated." in page.text_content(".flashes")
    shown = page.evaluate("() => sessionStorage.getItem('shown')")
    assert shown is not None and "Importing contacts" in shown, shown
