"""Consents: validation, sanitising, versions and archive (R15), deletes, agreements (R14)."""

import re

import pytest
from sqlalchemy import func, select

from dashboard.consent.services import plain_text, sanitise_html
from dashboard.domain.consent import consent_text_hash
from dashboard.extensions import db
from dashboard.models import (
    AgreementAction,
    AuditEntry,
    Channel,
    ChannelType,
    Consent,
    ConsentAgreement,
    ConsentArchive,
    ConsentTranslation,
    Contact,
    Role,
)

HOSTILE = (
    '<p onclick="steal()">Hello <b>you</b></p><script>alert("x")</script>'
    '<img src=x onerror=alert(1)><a href="javascript:alert(2)">bad</a>'
    '<a href="https://www.example.com/privacy" onmouseover="x()">policy</a>'
    "<style>body{display:none}</style><iframe src=https://evil.example.com></iframe>"
)
FORBIDDEN = ("<script", "onerror", "onclick", "onmouseover", "javascript:", "<style", "<iframe")
# Every page loads the app's own script files (static/js, as the CSP allows): take them out
# first, so a "<script" left on the page came from the content.
OWN_SCRIPT = re.compile(r'<script src="/static/js/[\w.-]+\.js"( defer)?></script>', re.I)


def without_own_scripts(html: str) -> str:
    """The page without the app's own script tags."""
    return OWN_SCRIPT.sub("", html)


def _form(**overrides) -> dict:
    data = {
        "code_name": "tracking",
        "display_name": "Tracking cookies",
        "short_text": "May we remember you?",
        "full_text": "<p>We store what you look at.</p>",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _create(client, **overrides) -> Consent:  # type: ignore[no-untyped-def]
    response = client.post("/consent/new", data=_form(**overrides))
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalar(select(Consent).where(Consent.code_name == "tracking"))


def _reload(consent_id: int) -> Consent:
    db.session.expire_all()
    return db.session.get(Consent, consent_id)


def _contact(email: str | None = None, first_name: str | None = None) -> Contact:
    contact = Contact(email=email, first_name=first_name)
    db.session.add(contact)
    db.session.commit()
    return contact


def _log(contact: Contact, consent: Consent, action: str, text_hash: str | None = None) -> None:
    db.session.add(
        ConsentAgreement(
            contact_id=contact.id,
            consent_id=consent.id,
            action=AgreementAction(action),
            text_hash=text_hash or consent.text_hash,
        )
    )
    db.session.commit()


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _archives() -> list[ConsentArchive]:
    return list(db.session.scalars(select(ConsentArchive).order_by(ConsentArchive.id)))


# --- Create, validate, sanitise ---------------------------------------------------------------


def test_create_stores_texts_hash_and_audit(client, login_as):
    manager = login_as(Role.CHANNEL_MANAGER)
    consent = _create(
        client,
        **{
            "translations-0-language": "pt-br",
            "translations-0-short_text": "Podemos?",
            "translations-0-full_text": "<p>Texto</p>",
        },
    )
    assert consent.display_name == "Tracking cookies"
    assert [(t.language, t.short_text) for t in consent.translations] == [("pt-BR", "Podemos?")]
    assert consent.text_hash == consent_text_hash(
        "May we remember you?",
        "<p>We store what you look at.</p>",
        {"pt-BR": ("Podemos?", "<p>Texto</p>")},
    )
    (entry,) = _audit("consent.create")
    assert entry.actor_email == manager.email
    assert entry.details["code_name"] == "tracking"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"code_name": "Tracking Consent"}, "lower-case letters"),
        ({"code_name": ""}, "This field is required."),
        ({"display_name": ""}, "This field is required."),
        ({"short_text": "  "}, "This field is required."),
        ({"translations-0-short_text": "Hallo"}, "Give the language of this variant"),
        ({"translations-0-language": "german!", "translations-0-short_text": "x"}, "language tag"),
        ({"translations-0-language": "de"}, "Give the short text in this language."),
        (
            {
                "translations-0-language": "de",
                "translations-0-short_text": "a",
                "translations-1-language": "DE",
                "translations-1-short_text": "b",
            },
            "already listed above",
        ),
    ],
)
def test_create_rejects_invalid_input(client, login_as, overrides, message):
    login_as(Role.CHANNEL_MANAGER)
    response = client.post("/consent/new", data=_form(**overrides))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Consent)) == 0


def test_create_rejects_taken_code_name(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    _create(client)
    response = client.post("/consent/new", data=_form(display_name="Another"))
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Consent)) == 1


def test_hostile_html_never_reaches_a_page(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    consent = _create(
        client,
        short_text='Agree? <img src=x onerror=alert(1)><script>alert("s")</script>',
        full_text=HOSTILE,
        **{
            "translations-0-language": "de",
            "translations-0-short_text": "Ja? <b onclick=x()>bitte</b>",
            "translations-0-full_text": HOSTILE,
        },
    )
    assert consent.short_text == "Agree?"
    assert "<b>you</b>" in consent.full_text
    assert 'href="https://www.example.com/privacy"' in consent.full_text
    stored = [consent.short_text, consent.full_text]
    stored += [consent.translations[0].short_text, consent.translations[0].full_text]
    for text in stored:
        for bad in FORBIDDEN:
            assert bad not in text.lower()
    client.post(f"/consent/{consent.id}/edit", data=_form(full_text="<p>v2</p>"))
    for path in (f"/consent/{consent.id}/edit", f"/consent/{consent.id}/versions", "/consent/"):
        page = without_own_scripts(client.get(path).get_data(as_text=True)).lower()
        for bad in FORBIDDEN:
            assert bad not in page, (path, bad)


def test_rows_written_elsewhere_are_sanitised_on_output(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    consent = Consent(code_name="seeded", display_name="Seeded", short_text="x",
                      full_text=HOSTILE, text_hash="0" * 64)  # fmt: skip
    db.session.add(consent)
    db.session.commit()
    page = client.get(f"/consent/{consent.id}/edit").get_data(as_text=True)
    shown = without_own_scripts(page.split('id="shown-title"')[1]).lower()
    assert "<b>you</b>" in shown
    for bad in FORBIDDEN:
        assert bad not in shown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tom & Jerry < 3", "Tom & Jerry < 3"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;Hi", "Hi"),
        ("<b>bold</b> words", "bold words"),
    ],
)
def test_short_texts_are_plain_text(text, expected):
    assert plain_text(text) == expected


def test_full_text_keeps_safe_markup():
    html = '<h2>Title</h2><ul><li><a href="mailto:dpo@example.com">DPO</a></li></ul>'
    cleaned = sanitise_html(html)
    assert "<h2>Title</h2>" in cleaned
    assert 'href="mailto:dpo@example.com"' in cleaned


# --- Edit, versions and the archive (R15) -----------------------------------------------------


def test_editing_an_agreed_text_archives_the_old_version(client, login_as):
    manager = login_as(Role.CHANNEL_MANAGER)
    consent = _create(
        client,
        **{"translations-0-language": "de", "translations-0-short_text": "Dürfen wir?"},
    )
    old_hash = consent.text_hash
    _log(_contact(), consent, "agree")
    _log(_contact(), consent, "agree")
    response = client.post(
        f"/consent/{consent.id}/edit",
        data=_form(
            short_text="May we remember you, please?",
            **{"translations-0-language": "de", "translations-0-short_text": "Dürfen wir?"},
        ),
    )
    assert response.status_code == 302
    consent = _reload(consent.id)
    assert consent.short_text == "May we remember you, please?"
    assert consent.text_hash != old_hash
    (archive,) = _archives()
    assert archive.text_hash == old_hash
    assert archive.short_text == "May we remember you?"
    assert archive.full_text == "<p>We store what you look at.</p>"
    assert archive.translations == {"de": {"short": "Dürfen wir?", "full": ""}}
    (entry,) = _audit("consent.update")
    assert entry.actor_email == manager.email
    assert entry.details["text_hash"] == [old_hash, consent.text_hash]
    assert entry.details["archived"] is True
    versions = client.get(f"/consent/{consent.id}/versions").get_data(as_text=True)
    rows = re.findall(
        r"<tr>\s*<th scope=\"row\"><code title=\"(\w+)\">.*?<td>(\d+)</td>", versions, re.S
    )
    assert rows == [(consent.text_hash, "0"), (old_hash, "2")]
    archived = client.get(f"/consent/{consent.id}/versions/{archive.id}").get_data(as_text=True)
    assert "May we remember you?" in archived
    assert "Dürfen wir?" in archived


def test_no_archive_when_nobody_agreed_or_text_unchanged(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    consent = _create(client)
    client.post(f"/consent/{consent.id}/edit", data=_form(short_text="Changed, nobody agreed"))
    assert _archives() == []
    _log(_contact(), _reload(consent.id), "agree")
    before = _reload(consent.id).text_hash
    client.post(
        f"/consent/{consent.id}/edit",
        data=_form(display_name="Renamed", short_text="Changed, nobody agreed"),
    )
    consent = _reload(consent.id)
    assert consent.display_name == "Renamed"
    assert consent.text_hash == before
    assert _archives() == []


def test_a_version_is_archived_once(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    consent = _create(client)
    first = consent.text_hash
    _log(_contact(), consent, "agree")
    client.post(f"/consent/{consent.id}/edit", data=_form(short_text="Second"))
    _log(_contact(), _reload(consent.id), "agree")
    client.post(f"/consent/{consent.id}/edit", data=_form())  # back to the first text
    client.post(f"/consent/{consent.id}/edit", data=_form(short_text="Second"))
    second = _reload(consent.id).text_hash
    assert _reload(consent.id).short_text == "Second"
    assert sorted(a.text_hash for a in _archives()) == sorted([first, second])


def test_language_variants_are_added_changed_and_removed(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    consent = _create(
        client,
        **{"translations-0-language": "de", "translations-0-short_text": "Dürfen wir?"},
    )
    response = client.post(
        f"/consent/{consent.id}/edit",
        data=_form(
            **{
                "translations-0-language": "de",
                "translations-0-short_text": "Dürfen wir?",
                "translations-0-remove": "y",
                "translations-1-language": "fr",
                "translations-1-short_text": "Pouvons-nous ?",
            }
        ),
    )
    assert response.status_code == 302
    rows = db.session.scalars(select(ConsentTranslation)).all()
    assert [(t.language, t.short_text) for t in rows] == [("fr", "Pouvons-nous ?")]
    assert _audit("consent.update")[0].details["languages"] == [["de"], ["fr"]]


def test_invalid_edit_changes_nothing(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    consent = _create(client)
    _log(_contact(), consent, "agree")
    response = client.post(
        f"/consent/{consent.id}/edit", data=_form(short_text="New", display_name="")
    )
    assert response.status_code == 400
    assert _reload(consent.id).short_text == "May we remember you?"
    assert _archives() == []
    assert _audit("consent.update") == []


# --- Delete -----------------------------------------------------------------------------------


def test_delete_is_refused_while_a_channel_uses_the_consent(client, login_as):
    login_as(Role.CHANNEL_MANAGER)
    consent = _create(client)
    db.session.add(
        Channel(code_name="corporate-site", display_name="Corporate site",
                type=ChannelType.WEBSITE, tracking_consent_id=consent.id)
    )  # fmt: skip
    db.session.commit()
    response = client.post(f"/consent/{consent.id}/delete")
    assert response.status_code == 302
    assert _reload(consent.id) is not None
    assert _audit("consent.delete") == []
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "is the tracking consent of Corporate site" in page
    assert f'action="/consent/{consent.id}/delete"' not in page


def test_delete_unused_consent(client, login_as):
    manager = login_as(Role.CHANNEL_MANAGER)
    consent = _create(client)
    consent_id = consent.id
    _log(_contact(), consent, "agree")
    response = client.post(f"/consent/{consent_id}/delete")
    assert response.status_code == 302
    assert response.headers["Location"] == "/consent/"
    assert _reload(consent_id) is None
    assert db.session.scalar(select(func.count()).select_from(ConsentAgreement)) == 0
    (entry,) = _audit("consent.delete")
    assert entry.actor_email == manager.email
    assert entry.details == {"code_name": "tracking", "agreement_rows": 1}


# --- Agreements (R14) -------------------------------------------------------------------------


@pytest.fixture
def agreement_log(app):  # type: ignore[no-untyped-def]
    """Ana agreed; Ben agreed then revoked; Cy revoked then agreed to the old text."""
    consent = Consent(code_name="tracking", display_name="Tracking", short_text="?",
                      text_hash="b" * 64)  # fmt: skip
    db.session.add(consent)
    db.session.commit()
    ana = _contact("ana@example.com", "Zelda")
    ben = _contact("ben@example.com", "Ben")
    cy = _contact("cy@example.com")
    _log(ana, consent, "agree")
    _log(ben, consent, "agree")
    _log(cy, consent, "revoke", "a" * 64)
    _log(ben, consent, "revoke")
    _log(cy, consent, "agree", "a" * 64)
    return consent, ana, ben, cy


def test_agreements_page_follows_r14(client, login_as, agreement_log):
    consent = agreement_log[0]
    login_as(Role.ADMIN)
    page = client.get(f"/consent/{consent.id}/agreements").get_data(as_text=True)
    counts = {
        label: int(n) for n, label in re.findall(r"<strong>(\d+)</strong> ([a-z ]+)</p>", page)
    }
    assert counts == {
        "current agreements": 2,
        "contacts who revoked": 1,
        "agreements logged": 3,
        "revocations logged": 2,
    }
    listed = page.split('id="list-title"')[1]
    assert "ana@example.com" in listed
    assert "cy@example.com" in listed
    assert "ben@example.com" not in listed
    by_version = page.split('id="by-version-title"')[1].split("</table>")[0]
    assert re.search(r"b{12}</code> \(current text\)</th><td>1</td>", by_version)
    assert re.search(r"a{12}</code> \(text not archived\)</th><td>1</td>", by_version)
    revocations = client.get(f"/consent/{consent.id}/agreements?view=revocations")
    listed = revocations.get_data(as_text=True).split('id="list-title"')[1]
    assert "ben@example.com" in listed
    assert "cy@example.com" in listed
    assert "ana@example.com" not in listed


def test_channel_managers_see_no_personal_data(client, login_as, agreement_log):
    consent, ana, _ben, cy = agreement_log
    login_as(Role.CHANNEL_MANAGER)
    page = client.get(f"/consent/{consent.id}/agreements").get_data(as_text=True)
    assert f"Contact #{ana.id}" in page
    assert f"Contact #{cy.id}" in page
    assert "@example.com" not in page.split("</header>")[1]
    assert "Zelda" not in page
    assert "/contacts/" not in page


def test_contact_links_only_where_the_contacts_pages_exist(app, client, login_as, agreement_log):
    consent, ana, _ben, _cy = agreement_log
    login_as(Role.ADMIN)
    page = client.get(f"/consent/{consent.id}/agreements").get_data(as_text=True)
    listed = page.split('id="list-title"')[1]
    if "contacts.detail" in app.view_functions:
        with app.test_request_context():
            from flask import url_for

            assert url_for("contacts.detail", contact_id=ana.id) in listed
    else:
        assert '<a href="/contacts' not in listed
    assert f"Zelda #{ana.id}" in listed


def test_agreements_are_paged_newest_first(client, login_as, agreement_log, monkeypatch):
    from dashboard.consent import services

    monkeypatch.setattr(services, "AGREEMENTS_PAGE_SIZE", 1)
    consent, ana, _ben, cy = agreement_log
    login_as(Role.CHANNEL_MANAGER)
    first = client.get(f"/consent/{consent.id}/agreements").get_data(as_text=True)
    assert f"Contact #{cy.id}" in first and f"Contact #{ana.id}" not in first
    older = re.search(r'href="([^"]*before=\d+)"', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    assert f"Contact #{ana.id}" in second and f"Contact #{cy.id}" not in second
    assert "before=" not in second.split('id="list-title"')[1]


@pytest.mark.parametrize(
    "query",
    [
        "?view=bogus",
        "?before=abc",
        "?view=revocations&before=-5",
        "?before=99999999999999999999999",
        "?before=-99999999999999999999999",
    ],
)
def test_odd_agreement_queries_are_harmless(client, login_as, agreement_log, query):
    consent = agreement_log[0]
    login_as(Role.CHANNEL_MANAGER)
    assert client.get(f"/consent/{consent.id}/agreements{query}").status_code == 200


def test_index_lists_channels_and_current_agreements(client, login_as, agreement_log):
    consent = agreement_log[0]
    db.session.add(
        Channel(code_name="corporate-site", display_name="Corporate site",
                type=ChannelType.WEBSITE, tracking_consent_id=consent.id)
    )  # fmt: skip
    db.session.commit()
    login_as(Role.CHANNEL_MANAGER)
    page = client.get("/consent/").get_data(as_text=True)
    row = re.search(r"<th scope=\"row\"><a [^>]*>Tracking</a>.*?</tr>", page, re.S).group(0)
    assert "<td>Corporate site</td>" in row
    assert f'<a href="/consent/{consent.id}/agreements">2</a>' in row


def test_unknown_consent_or_version_is_404(client, login_as, agreement_log):
    consent = agreement_log[0]
    other = Consent(code_name="other", display_name="Other", short_text="?", text_hash="c" * 64)
    db.session.add(other)
    db.session.commit()
    archive = ConsentArchive(consent_id=other.id, text_hash="d" * 64, short_text="old")
    db.session.add(archive)
    db.session.commit()
    login_as(Role.CHANNEL_MANAGER)
    assert client.get("/consent/999/edit").status_code == 404
    assert client.get("/consent/99999999999999999999999/agreements").status_code == 404
    assert client.get(f"/consent/{consent.id}/versions/{archive.id}").status_code == 404
    assert client.get(f"/consent/{other.id}/versions/{archive.id}").status_code == 200
