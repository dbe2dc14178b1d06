"""Analytics pages and CSV downloads: exact numbers, filters, group filter, privacy, escaping,
bad input and empty ranges."""

import csv
import html as html_lib
import io
import re
import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.analytics.rollups import refresh_rollups
from dashboard.extensions import db
from dashboard.models import ContactGroup, ContactGroupMember, Role
from tests import factories
from tests.test_rollups import NEW_YEAR, add_activity, known_store

RANGE = {"range": "custom", "start": "2025-12-31", "end": "2026-01-03"}
CHARTS = ("activity", "contacts", "coverage", "consent", "pages", "sources", "overlap", "funnel")
XSS = "<img src=x onerror=alert(1)>"


def get_csv(client, slug: str, panel: str | None = None, **params) -> list[list[str]]:
    query = {**RANGE, **params}
    if panel:
        query["panel"] = panel
    response = client.get(f"/analytics/{slug}.csv", query_string=query)
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def make_group(*contacts, code: str = "vip") -> ContactGroup:
    group = ContactGroup(code_name=code, display_name=code.upper())
    db.session.add(group)
    db.session.flush()
    for c in contacts:
        db.session.add(ContactGroupMember(group_id=group.id, contact_id=c.id, manual=True))
    db.session.commit()
    refresh_rollups()  # group charts read the group rollups, which the job keeps
    return group


@pytest.fixture
def store(app, client, login_as):
    s = known_store()
    refresh_rollups()
    login_as(Role.ANALYST)
    return s


def test_every_chart_page_and_csv_renders(client, store):
    index = client.get("/analytics/")
    assert index.status_code == 200
    for slug in CHARTS:
        assert f"/analytics/{slug}" in index.get_data(as_text=True)
        page = client.get(f"/analytics/{slug}", query_string=RANGE)
        assert page.status_code == 200, slug
        html = page.get_data(as_text=True)
        assert "data-figure=" in html, slug
        assert "<caption>" in html and 'scope="col"' in html and 'scope="row"' in html
        assert "<script>" not in html  # no inline script: CSP script-src 'self'
        assert f"/analytics/{slug}.csv?" in html
        assert get_csv(client, slug)[0], slug


def test_csv_links_of_a_page_with_replaced_filters_download_what_was_drawn(client, store):
    """A hand-edited URL falls back to defaults on the page; its CSV links carry the filter that
    was drawn, so they download rather than answer 400 (found by the hostile-input test)."""
    for slug in CHARTS:
        query = {"range": XSS, "start": "<script>", "by": "year", "channel": "x", "step1": "y"}
        page = client.get(f"/analytics/{slug}", query_string=query)
        assert page.status_code == 200 and "showing the default instead" in page.text, slug
        links = re.findall(r'href="(/analytics/[a-z]+\.csv\?[^"]+)"', page.text)
        assert links, slug
        for link in links:
            response = client.get(html_lib.unescape(link))
            assert response.status_code == 200, (link, response.text)
            assert response.mimetype == "text/csv"
            assert XSS not in link and "year" not in link


def test_activity_csv_holds_exact_daily_numbers(client, store):
    rows = get_csv(client, "activity")
    header = rows[0]
    assert header[:3] == ["Day", "From", "To"]
    by_day = {r[0]: dict(zip(header[3:], map(int, r[3:]), strict=True)) for r in rows[1:]}
    assert by_day["2025-12-31"] == {
        "Page visit": 1,
        "Landing page": 1,
        "Click": 0,
        "Form submission": 0,
    }
    assert by_day["2026-01-01"] == {
        "Page visit": 2,
        "Landing page": 1,
        "Click": 2,
        "Form submission": 0,
    }
    assert by_day["2026-01-03"]["Form submission"] == 1
    web = get_csv(client, "activity", channel=store["web"].id)
    assert [r[0] for r in web[1:]] == ["2025-12-31", "2026-01-01", "2026-01-02", "2026-01-03"]
    assert web[4][3:] == ["0", "0", "0", "0"]  # the R9 submission has no channel


def test_week_and_month_grouping_cut_at_the_range(client, store):
    weeks = get_csv(client, "activity", by="week")
    assert [r[:3] for r in weeks[1:]] == [
        ["2026-W01 (partial: 4 of 7 days)", "2025-12-31", "2026-01-03"],
    ]
    months = get_csv(client, "activity", by="month")
    assert [r[0] for r in months[1:]] == [
        "2025-12 (partial: 1 of 31 days)",
        "2026-01 (partial: 3 of 31 days)",
    ]
    assert months[1][3:] == ["1", "1", "0", "0"]


def test_contacts_consent_and_funnel_numbers(client, store):
    contacts = get_csv(client, "contacts")
    assert contacts[0][3:] == ["Identified", "Anonymous", "Identified share (%)"]
    assert contacts[1][3:] == ["1", "0", "100.0"]
    assert contacts[2][3:] == ["1", "1", "50.0"]
    consent = get_csv(client, "consent")
    assert [r[3:] for r in consent[1:]] == [
        ["0", "0", "0"],
        ["2", "0", "2"],
        ["1", "0", "2"],
        ["0", "1", "1"],
    ]
    funnel = get_csv(client, "funnel", window="168")
    assert [r[:3] for r in funnel[1:]] == [
        ["1. Page visit", "3", "0"],
        ["2. Click", "2", "0"],
        ["3. Form submission", "1", "0"],
    ]
    assert funnel[2][3:] == ["66.7", "66.7"]


def test_coverage_numbers(client, store):
    rows = get_csv(client, "coverage")
    assert rows[1] == ["Corporate Site", "3", "0", "0", "2", "0", "5", "10", "30.0"]
    assert rows[2] == ["Shop Site", "0", "4", "0", "0", "0", "0", "4", "100.0"]
    share = get_csv(client, "coverage", "share")
    assert share[0][3:] == ["Corporate Site", "Shop Site"]
    assert [r[3:] for r in share[1:]] == [["", ""], ["37.5", "100.0"], ["0.0", ""], ["", ""]]
    shop = get_csv(client, "coverage", channel=store["shop"].id)
    assert [r[0] for r in shop[1:]] == ["Shop Site"]


def test_pages_sources_and_overlap_numbers(client, store):
    pages = get_csv(client, "pages")
    assert pages[0] == [
        "Rank",
        "Page",
        "URL",
        "Channel",
        "Views",
        "Unique contacts",
        "Unique contacts ± (95%)",
    ]
    assert pages[1] == ["1", "Pricing", "https://ex.com/pricing", "Corporate Site", "3", "3", "0"]
    assert pages[2][2:] == ["https://shop.ex.com/", "Shop Site", "1", "1", "0"]
    shop_only = get_csv(client, "pages", channel=store["shop"].id)
    assert [r[2] for r in shop_only[1:]] == ["https://shop.ex.com/"]
    landing = get_csv(client, "sources", dimension="landing")
    assert landing[1][1:5] == ["Pricing", "https://ex.com/pricing", "Corporate Site", "2"]
    referrers = get_csv(client, "sources", dimension="referrer")
    assert sorted(r[1:] for r in referrers[1:]) == [["(direct)", "1"], ["google.com", "1"]]
    overlap = get_csv(client, "overlap")
    assert overlap[1:] == [
        ["Corporate Site", "1", "2", "0"],
        ["Corporate Site + Shop Site", "2", "1", "0"],
    ]
    per_day = get_csv(client, "overlap", "overlap-time")
    # Per day nobody used two channels: the shop visitor came back to the site a day later.
    assert [r[3:] for r in per_day[1:]] == [
        ["1", "0", "0"],
        ["3", "0", "0"],
        ["1", "0", "0"],
        ["0", "0", "0"],
    ]


def test_a_group_of_every_contact_gives_the_rollup_numbers(client, store):
    group = make_group(store["ana"], store["anon"], store["bo"])
    for slug, panel in [
        ("activity", None),
        ("contacts", None),
        ("consent", None),
        ("pages", None),
        ("pages", "pages-time"),
        ("sources", None),
        ("overlap", None),
        ("funnel", None),
        ("funnel", "funnel-time"),
    ]:
        assert get_csv(client, slug, panel, group=group.id) == get_csv(client, slug, panel), slug


def test_a_group_filter_counts_agreements_made_before_the_range(client, store):
    later = {"start": "2026-01-02", "end": "2026-01-03"}  # both agreed on 1 January
    everyone = make_group(store["ana"], store["anon"], store["bo"])
    assert get_csv(client, "consent", group=everyone.id, **later) == get_csv(
        client, "consent", **later
    )
    assert [r[3:] for r in get_csv(client, "consent", **later)[1:]] == [
        ["1", "0", "2"],  # Ana agrees again: still 2 current agreements
        ["0", "1", "1"],  # the anonymous contact revokes
    ]
    anon = make_group(store["anon"], code="anon")
    assert [r[3:] for r in get_csv(client, "consent", group=anon.id, **later)[1:]] == [
        ["0", "0", "1"],
        ["0", "1", "0"],
    ]


def test_a_group_filter_counts_only_its_members(client, store):
    group = make_group(store["bo"])
    rows = get_csv(client, "activity", group=group.id)
    assert rows[2][3:] == ["1", "1", "1", "0"]  # 1 January: Bo's visit, landing and click
    assert rows[4][3:] == ["0", "0", "0", "1"]  # his R9 form on 3 January
    pages = get_csv(client, "pages", group=group.id)
    assert pages[1][4:] == ["1", "1", "0"]
    coverage = client.get("/analytics/coverage", query_string={**RANGE, "group": group.id})
    assert "the contact group filter does not apply" in coverage.get_data(as_text=True)


def test_a_large_group_counts_distinct_contacts_in_the_sample(client, store, monkeypatch):
    from dashboard.analytics import queries

    group = make_group(store["anon"], store["bo"])
    exact = {
        (slug, panel): get_csv(client, slug, panel, group=group.id)
        for slug, panel in [("pages", None), ("overlap", None), ("funnel", None)]
    }
    monkeypatch.setattr(queries, "GROUP_EXACT_LIMIT", 1)
    for (slug, panel), rows in exact.items():
        assert get_csv(client, slug, panel, group=group.id) == rows, slug  # sample rate 1


def test_no_chart_or_csv_shows_names_emails_or_guids(client, store):
    guid = str(uuid.uuid4())
    add_activity(
        store["ana"],
        "pagevisit",
        NEW_YEAR,
        store["web"],
        url=f"https://ex.com/account/ana@example.com/{guid}?email=ana@example.com",
        title=f"Welcome {guid}",
    )
    add_activity(
        store["ana"],
        "landingpage",
        NEW_YEAR,
        store["web"],
        url="https://ex.com/",
        referrer="https://mail.example.org/?to=ana@example.com",
        utm_source="ana@example.com",
        utm_campaign=guid,
    )
    db.session.commit()
    refresh_rollups()
    secrets = ["ana@example.com", "bo@example.com", "Smith", "Berg", guid]
    secrets += [str(c.guid) for c in (store["ana"], store["anon"], store["bo"])]
    for slug in CHARTS:
        html = client.get(f"/analytics/{slug}", query_string=RANGE).get_data(as_text=True)
        bodies = [html]
        for dimension in ("landing", "referrer", "utm_source", "utm_campaign"):
            response = client.get(
                f"/analytics/{slug}.csv", query_string={**RANGE, "dimension": dimension}
            )
            bodies.append(response.get_data(as_text=True))
        for body in bodies:
            for secret in secrets:
                assert secret not in body, (slug, secret)
    assert "[email]" in get_csv(client, "sources", dimension="utm_source")[1][1] or any(
        r[1] == "[email]" for r in get_csv(client, "sources", dimension="utm_source")[1:]
    )


def test_visitor_strings_are_escaped_in_figures_and_tables(client, store):
    add_activity(
        store["ana"],
        "pagevisit",
        NEW_YEAR,
        store["web"],
        url="https://ex.com/<script>alert(1)</script>",
        title=XSS,
    )
    add_activity(
        store["ana"],
        "landingpage",
        NEW_YEAR,
        store["web"],
        url="https://ex.com/",
        utm_source=XSS,
        referrer=f"https://{XSS}.example/",
    )
    db.session.commit()
    refresh_rollups()
    for slug, params in [
        ("pages", {}),
        ("sources", {"dimension": "utm_source"}),
        ("sources", {"dimension": "referrer"}),
    ]:
        html = client.get(f"/analytics/{slug}", query_string={**RANGE, **params}).get_data(
            as_text=True
        )
        assert "<img" not in html and "<script>alert" not in html, slug
        assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the table shows the text
        assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in html  # the figure's label
    rows = get_csv(client, "pages")
    assert any(r[1] == XSS for r in rows[1:])  # CSV keeps the text as it was (formula-safe)


@pytest.mark.parametrize(
    "params",
    [
        {"range": "12"},
        {"range": "custom"},
        {"range": "custom", "start": "2026-02-01", "end": "2026-01-01"},
        {"range": "custom", "start": "1999-01-01", "end": "2000-01-02"},
        {"range": "custom", "start": "2020-01-01", "end": "2025-01-01"},
        {"range": "custom", "start": "yesterday", "end": "2026-01-01"},
        {"by": "fortnight"},
        {"channel": "abc"},
        {"channel": "999999"},
        {"group": "-1"},
        {"consent": "x"},
        {"dimension": "utm_term"},
        {"top": "1000000"},
        {"window": "5"},
        {"step1": "999"},
        {"step1": "1"},
    ],
)
def test_bad_filters_fall_back_with_a_message_and_csv_refuses(client, store, params):
    for slug in ("activity", "funnel", "sources"):
        page = client.get(f"/analytics/{slug}", query_string=params)
        assert page.status_code == 200
        assert 'class="messages" role="alert"' in page.get_data(as_text=True)
    response = client.get("/analytics/funnel.csv", query_string=params)
    assert response.status_code == 400
    assert b"showing the default instead" in response.data


def test_unknown_panel_is_404(client, store):
    assert client.get("/analytics/pages.csv", query_string={"panel": "nope"}).status_code == 404


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    slug=st.sampled_from(CHARTS),
    params=st.dictionaries(
        st.sampled_from(
            [
                *("range", "start", "end", "by", "channel", "group", "consent"),
                *("dimension", "top", "window", "step1", "step2", "step3", "panel"),
            ]
        ),
        st.one_of(st.text(max_size=12), st.integers(-(2**40), 2**40).map(str)),
        max_size=6,
    ),
)
def test_no_query_string_makes_a_server_error(app, client, login_as, slug, params):
    if not getattr(app, "_analyst", False):
        login_as(Role.ANALYST)
        app._analyst = True
    for path in (f"/analytics/{slug}", f"/analytics/{slug}.csv"):
        assert client.get(path, query_string=params).status_code < 500


def test_empty_range_says_no_data(client, store):
    params = {"range": "custom", "start": "2024-01-01", "end": "2024-01-31"}
    for slug in CHARTS:
        html = client.get(f"/analytics/{slug}", query_string=params).get_data(as_text=True)
        assert "No data for these filters" in html, slug
        assert "data-figure=" not in html, slug
    rows = get_csv(client, "pages", **params)
    assert rows == [
        ["Rank", "Page", "URL", "Channel", "Views", "Unique contacts", "Unique contacts ± (95%)"]
    ]


def test_pages_say_when_rollups_are_missing_or_behind(app, client, login_as):
    login_as(Role.ANALYST)
    html = client.get("/analytics/activity").get_data(as_text=True)
    assert "backfill-rollups" in html
    s = known_store()
    refresh_rollups()
    add_activity(s["ana"], "click", NEW_YEAR + timedelta(days=1), s["web"])
    db.session.commit()
    html = client.get("/analytics/activity").get_data(as_text=True)
    assert "waiting to be rolled up: at most 1" in html


def test_overview_shows_small_charts_to_every_role(client, store, login_as):
    factories.contact(email="carla@example.com", first_name="Carla")
    html = client.get("/").get_data(as_text=True)
    assert html.count("data-figure=") + html.count("No data in the last 30 days") == 3
    assert "vendor/plotly.min.js" in html
    assert "carla@example.com" not in html  # analysts see no recent-activity log
    # Contacts are counted from the rollups (three when they were built), not by a full scan.
    assert '<span class="kpi-value">3</span><span class="kpi-label">Contacts</span>' in html
