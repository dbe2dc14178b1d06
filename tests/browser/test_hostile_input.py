"""Hostile input everywhere (issue 8, item 1): every payload a visitor or an admin can store is
shown as text on every page of the dashboard, runs nowhere, breaks no page, and reaches no
spreadsheet as a formula.

tests/hostile.py stores the payloads through the public API and the dashboard's forms and lists
every GET route of ``app.url_map`` with real ids; this test opens each page as an admin (the
public ones as a visitor) in Chromium under the app's real Content-Security-Policy, watches for
anything that ran, was blocked or broke, then downloads every CSV linked from any page and the
data-protection JSON export.
"""

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from dashboard.domain.consent import consent_text_hash
from dashboard.extensions import db
from tests import factories
from tests.hostile import (
    CONSENT_HTML,
    MARKER,
    PAYLOADS,
    fit,
    get_urls,
    reflected_urls,
    store_hostile_data,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Installed before any page script. Payloads set ``window.__xss`` or call alert(); inline code
# the CSP blocked shows up as a violation event.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));
"""

# What only injected markup could have made: the app has no inline script, no event-handler
# attributes, no frames, no <base>, no javascript: links and no images outside /static/.
SCAN_DOM = f"""() => {{
  const bad = [];
  const urlAttributes = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster'];
  for (const el of document.querySelectorAll('*')) {{
    const tag = el.tagName.toLowerCase();
    for (const a of el.attributes) {{
      const name = a.name.toLowerCase();
      const value = a.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
      if (name.startsWith('on')) bad.push(`<${{tag}} ${{name}}>`);
      if (urlAttributes.includes(name) && /^(javascript|vbscript|data:text)/.test(value))
        bad.push(`<${{tag}} ${{name}}=${{value.slice(0, 40)}}>`);
    }}
    if (['iframe', 'frame', 'object', 'embed', 'base', '{MARKER}'].includes(tag))
      bad.push(`<${{tag}}>`);
    if (tag === 'script' && (!el.src || new URL(el.src).origin !== location.origin))
      bad.push('<script> ' + (el.src || el.textContent.slice(0, 40)));
    if (tag === 'img' && el.getAttribute('src') && !el.src.startsWith('data:image/')) {{
      const src = new URL(el.src);
      if (src.origin !== location.origin || !src.pathname.startsWith('/static/'))
        bad.push('<img src=' + el.getAttribute('src').slice(0, 40) + '>');
    }}
    if (tag === 'meta' && el.httpEquiv) bad.push('<meta http-equiv>');
  }}
  return bad;
}}"""

SPREADSHEET_FORMULA = ("=", "+", "-", "@", "\t", "\r")


class Findings:
    """Problems per page, reported together so that one run shows all of them."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.visited: list[str] = []

    def check(self, where: str, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(f"{where}: {problem}")


def _login(page, base: str, email: str) -> None:
    page.goto(f"{base}/auth/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", factories.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def _watch(page, *allowed: str) -> Callable[[], list[str]]:
    """Record dialogs, page errors, CSP reports on the console and requests that leave the
    app; return a function that hands them over (and forgets them)."""
    events: list[str] = []

    def on_dialog(dialog) -> None:  # type: ignore[no-untyped-def]
        events.append(f"dialog {dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(message) -> None:  # type: ignore[no-untyped-def]
        if message.type == "error" and "Content Security Policy" in message.text:
            events.append(f"console: {message.text[:300]}")

    def on_request(request) -> None:  # type: ignore[no-untyped-def]
        parts = urlsplit(request.url)
        if not request.url.startswith((*allowed, "data:")) or parts.path.endswith("/x"):
            events.append(f"request to {request.url[:120]}")

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: events.append(f"page error: {exc}"))
    page.on("console", on_console)
    page.on("request", on_request)

    def take() -> list[str]:
        taken = list(events)
        events.clear()
        return taken

    return take


def _inspect(page, base: str, path: str, take, findings: Findings) -> set[str]:
    """Open ``path`` and record what ran, what the CSP blocked and what broke; return the
    download links found on the page."""
    response = page.goto(base + path)
    findings.visited.append(path)
    return _inspect_loaded(page, path, response.status if response else 0, take, findings)


def _inspect_loaded(page, path: str, status: int, take, findings: Findings) -> set[str]:
    """The checks of ``_inspect`` on the page already loaded (``path`` names it)."""
    findings.check(path, status in (200, 400), f"status {status}")
    if page.locator("[data-figure]").count():
        page.wait_for_selector("[data-drawn=true]", timeout=20000)
    if page.locator("[data-group-editor]").count():
        # The live preview lists matching contacts 500 ms after load: let it arrive.
        page.wait_for_timeout(700)
        page.wait_for_load_state("networkidle")
    for event in take():
        findings.check(path, False, event)
    findings.check(path, page.evaluate("window.__xss") is None, "a payload ran (window.__xss)")
    for violation in page.evaluate("window.__csp"):
        findings.check(path, False, f"CSP blocked injected code: {violation}")
    for bad in page.evaluate(SCAN_DOM):
        findings.check(path, False, f"injected markup {bad}")
    headings = page.locator("main h1, body > h1, header h1, .content h1")
    findings.check(
        path,
        headings.count() >= 1 and bool(headings.first.inner_text().strip()),
        "no main heading",
    )
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    findings.check(path, overflow <= 1, f"page is {overflow}px wider than the window")
    links = page.eval_on_selector_all("a[href]", "els => els.map(a => a.getAttribute('href'))")
    return {h for h in links if urlsplit(h).path.endswith((".csv", "/export"))}


def _strings(value: object) -> list[str]:
    """Every string inside a decoded JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _check_download(page, base: str, href: str, findings: Findings) -> int:
    """Download a CSV: attachment, text/csv, no cell a spreadsheet would evaluate. Returns how
    many cells hold a neutralised formula (proof that the payloads reached the file)."""
    response = page.request.get(base + href)
    headers = response.headers
    findings.visited.append(href)
    findings.check(href, response.status == 200, f"download status {response.status}")
    findings.check(
        href, headers.get("content-type", "").startswith("text/csv"), headers.get("content-type")
    )
    findings.check(
        href, "attachment" in headers.get("content-disposition", ""), "not an attachment"
    )
    cells = [cell for row in csv.reader(io.StringIO(response.text())) for cell in row]
    for cell in cells:
        findings.check(href, not cell.startswith(SPREADSHEET_FORMULA), f"formula {cell[:60]!r}")
    return sum(cell.startswith("'") and cell[1:].startswith(SPREADSHEET_FORMULA) for cell in cells)


def _upload(page, file: Path, button: str, take, findings: Findings) -> None:
    """Submit ``file`` on the import page and inspect the check report."""
    page.set_input_files("input[type=file]", str(file))
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name=button).click()
    page.wait_for_load_state()
    findings.visited.append(f"POST /contacts/import ({file.name})")
    _inspect_loaded(page, f"import {file.name}", answer.value.status, take, findings)


def _import_file(page, base: str, tmp_path: Path, take, findings: Findings) -> None:
    """A marketer imports a file someone else made: its check report, then the import."""
    page.goto(f"{base}/contacts/import")
    bad, good = io.StringIO(), io.StringIO()
    columns = ["email", "first_name", "company", "country", "birthday", "notes", "status"]
    csv.writer(bad).writerow(columns)
    csv.writer(good).writerow([*columns[:3], "notes"])
    for payload in PAYLOADS.values():
        short = fit(payload, 100)
        csv.writer(bad).writerow([payload, short, payload, payload, payload, payload, payload])
    # Four new contacts (each page of each contact is opened later), every payload in a field.
    p = list(PAYLOADS.values())
    for i in range(4):
        notes = p[i + 8] + "\n" + p[i + 12]
        row = [f"=import{i}@hostile.example", fit(p[i], 100), fit(p[i + 4], 200), notes]
        csv.writer(good).writerow(row)
    for name, text in (("problems.csv", bad.getvalue()), ("good.csv", good.getvalue())):
        (tmp_path / name).write_text(text, encoding="utf-8")
    _upload(page, tmp_path / "problems.csv", "Check file", take, findings)
    findings.check("import", page.locator(".problems td").count() > 0, "no problems reported")
    _upload(page, tmp_path / "good.csv", "Check file", take, findings)
    confirm = page.get_by_role("button", name="Import 4 rows")
    if not confirm.count():
        findings.check("import", False, "good.csv refused: " + page.inner_text("main")[:800])
        return
    with page.expect_navigation():
        confirm.click()
    findings.visited.append("POST /contacts/import/confirm")
    _inspect_loaded(page, "import confirmed", 200, take, findings)
    findings.check("import", "Imported" in page.inner_text("main"), "the import did not run")


def test_payloads_never_run_break_a_page_or_reach_a_spreadsheet(
    app, client, login_as, live_server, browser_context, tmp_path
):
    store = store_hostile_data(app, client, login_as, site_origin=live_server)
    findings = Findings()
    page = browser_context.new_page()
    page.add_init_script(WATCH)
    take = _watch(page, live_server)

    # The public pages as a visitor (the login page redirects once logged in).
    public = [p for e, p in get_urls(app, store.url_values()) if e.startswith(("demo.", "auth."))]
    for path in dict.fromkeys(public):
        _inspect(page, live_server, path, take, findings)
    _login(page, live_server, store.admin_email)
    _import_file(page, live_server, tmp_path, take, findings)

    # Every other page, also those of the contacts just imported, and pages that echo their
    # query string. CSV routes and CSV links found on pages are downloaded below.
    pages: list[str] = []
    downloads: set[str] = set()
    for endpoint, path in get_urls(app, store.url_values()):
        with client.get(path) as response:  # the admin's session: what kind of answer is it?
            kind = response.mimetype
        if kind == "text/html" and path not in public and path not in pages:
            pages.append(path)
        elif kind == "text/csv":
            downloads.add(path)
        elif kind != "text/html":  # static files, the snippet and JSON endpoints are no pages
            json_endpoint = endpoint.startswith("tracking.") or endpoint == "main.progress"
            assert endpoint == "static" or json_endpoint, (endpoint, kind)
    assert len(pages) > 100, pages
    for path in pages + reflected_urls(store):
        downloads |= _inspect(page, live_server, path, take, findings)

    # Each payload shows as typed on its contact's page (its name and email as stored).
    for key, contact_id in store.contacts.items():
        if key in PAYLOADS:
            page.goto(f"{live_server}/contacts/{contact_id}")
            shown = page.inner_text("main")
            for text in (fit(PAYLOADS[key], 100).strip(), store.emails[key]):
                findings.check(f"/contacts/{contact_id}", text in shown, f"not shown: {text!r}")

    # Plotly draws labels and hovers as text: the markup is visible, nothing became a link.
    page.goto(f"{live_server}/analytics/pages?range=7")
    page.wait_for_selector("[data-drawn=true]")
    # (Which pages make the top ten depends on ties; all of them hold markup.)
    markup = ("<script>", "<img src=x", "<svg", f"<{MARKER}>")
    ticks = " ".join(page.locator("#panel-pages-figure .ytick text").all_text_contents())
    findings.check("chart labels", any(m in ticks for m in markup), f"no markup: {ticks!r}")
    hovers = []
    label = page.locator("#panel-pages-figure .hoverlayer text")
    for bar in page.locator("#panel-pages-figure .bars .point path").all():
        # Leave the plot first so the label of the bar before goes away, then wait for this
        # bar's label: plotly draws it on the next animation frame, late on a loaded machine.
        page.mouse.move(0, 0)
        label.first.wait_for(state="detached")
        bar.hover(force=True)
        try:
            label.first.wait_for(state="visible", timeout=5000)
        except PlaywrightTimeout:  # no label for this bar: the count below tells if too few came
            continue
        hovers += page.locator("#panel-pages-figure .hoverlayer text").all_text_contents()
    shown = [h for h in hovers if any(m in h for m in markup)]
    findings.check("chart hover", len(shown) >= 5, f"markup not shown as text: {hovers}")
    findings.check("charts", page.locator(".main-svg a").count() == 0, "a link in a chart")
    # A name in a hover template is not read as a template: "%{y}" stays "%{y}".
    page.goto(f"{live_server}/analytics/activity?range=7")
    page.wait_for_selector("[data-drawn=true]")
    plot = page.locator("#panel-activity-figure .nsewdrag").first
    box = plot.bounding_box()
    plot.hover(position={"x": box["width"] - 5, "y": box["height"] / 2})  # today's bars
    page.locator("#panel-activity-figure .hoverlayer text").first.wait_for(state="visible")
    hover = " ".join(page.locator("#panel-activity-figure .hoverlayer text").all_text_contents())
    findings.check("chart hover", "<b>bold</b> %{y}" in hover, f"name altered: {hover!r}")

    # Every CSV any page links to, and every CSV route.
    neutralised = sum(_check_download(page, live_server, h, findings) for h in sorted(downloads))
    findings.check("downloads", neutralised > 0, "no neutralised formula: payloads missing")

    # The data-protection export (JSON, from the button on the search result) holds the data
    # as stored: it is for the person, not a spreadsheet, so nothing is altered.
    query = urlencode({"q": store.emails["hyperlink"]})
    page.goto(f"{live_server}/consent/data-protection/?{query}")
    with page.expect_download() as info:
        page.get_by_role("button", name="Export JSON").click()
    exported = _strings(json.loads(Path(info.value.path()).read_text(encoding="utf-8")))
    findings.visited.append("POST privacy.export (JSON)")
    findings.check("privacy export", PAYLOADS["hyperlink"] in exported, "payload altered")
    findings.check("privacy export", store.emails["hyperlink"] in exported, "email missing")
    page.close()

    print("\nvisited:\n  " + "\n  ".join(findings.visited))
    assert not findings.problems, "\n".join(findings.problems)


def test_the_watch_catches_an_injection(browser_context, live_server):
    """The detectors above fire on a page that does hold injected markup (so a green run of the
    test above means something): a blocked handler, a marker element, an image to /x."""
    page = browser_context.new_page()
    page.add_init_script(WATCH)
    take = _watch(page, live_server)
    findings = Findings()
    # A page of the app, then markup written into it as an unescaped template would.
    page.goto(f"{live_server}/demo/")
    markup = f"{PAYLOADS['attribute']}<{MARKER}></{MARKER}><table><tr><td>{'W' * 400}</td></tr>"
    page.evaluate(
        "html => document.querySelector('main').insertAdjacentHTML('beforeend', html)", markup
    )
    page.wait_for_timeout(500)
    for event in take():
        findings.check("probe", False, event)
    for bad in page.evaluate(SCAN_DOM):
        findings.check("probe", False, bad)
    assert page.evaluate("window.__xss") is None  # the CSP blocked the handler...
    assert page.evaluate("window.__csp"), "...and reported it"
    text = "\n".join(findings.problems)
    assert "<img onerror>" in text and f"<{MARKER}>" in text and "/x" in text, text
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") > 1
    page.close()


BANNER_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Partner</title>
<script async src="{dashboard}/t/v1/tracker.js" data-channel="partner-site" data-banner="true">
</script></head><body><main><h1>Partner</h1></main></body></html>"""


def test_the_consent_banner_on_another_site_shows_hostile_texts_as_text(
    browser_context, live_server, other_origin
):
    """The snippet's banner runs on the customer's website, which may have no CSP at all: the
    consent texts must reach it as text, whatever the stored row holds (even HTML that was never
    sanitised, as a row written by another tool could)."""
    origin, root = other_origin
    short = PAYLOADS["attribute"] + " " + PAYLOADS["marker"] + " " + PAYLOADS["bidi"]
    consent = factories.consent(code="partner-consent", short=short)
    consent.full_text = CONSENT_HTML
    consent.display_name = PAYLOADS["script"]
    consent.text_hash = consent_text_hash(short, CONSENT_HTML)
    db.session.commit()
    factories.channel("partner-site", level=0, consent=consent, origins=(origin,))
    (root / "page.html").write_text(BANNER_PAGE.format(dashboard=live_server))

    page = browser_context.new_page()
    page.add_init_script(WATCH)
    take = _watch(page, live_server, origin)
    page.goto(f"{origin}/page.html")
    banner = page.get_by_role("region", name=PAYLOADS["script"])
    banner.wait_for()
    banner.locator("details summary").click()  # the full text too
    shown = banner.inner_text()
    # The display name is plain text and shown as typed; the texts reach the page cleaned: the
    # markup's words, none of its tags, no script or style source.
    for text in (PAYLOADS["script"], '">', "tag", "\u202egnp.exe", "We track you.", "more"):
        assert text in shown, (text, shown)
    for text in ("<img", MARKER, "__xss=1>", "display:none", "onerror"):
        assert text not in shown.replace(PAYLOADS["script"], ""), (text, shown)
    assert page.evaluate("window.__xss") is None
    assert take() == []
    tracker = f"<script> {live_server}/t/v1/tracker.js"
    assert [b for b in page.evaluate(SCAN_DOM) if b != tracker] == []
    page.close()
