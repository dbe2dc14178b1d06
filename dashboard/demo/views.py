"""The demo website: a few public pages embedding the snippet, so a newcomer sees their own
visit arrive in the dashboard. Two demo sites share the pages: ``corporate-site`` (default level
Essential, so nothing is tracked until the visitor agrees) and ``shop-site`` (default All)."""

from flask import abort, make_response, render_template, request

from . import bp
from .forms import DemoContactForm
from .services import default_level_label, record_contact_form

SITES = {
    "corporate": {"channel": "corporate-site", "name": "Northwind Corporate"},
    "shop": {"channel": "shop-site", "name": "Northwind Shop"},
}
PAGES = {
    "home": "Welcome",
    "pricing": "Pricing",
    "features": "Features",
    "contact": "Contact us",
}


@bp.get("/", defaults={"site": "corporate", "page": "home"})
@bp.get("/<site>/", defaults={"page": "home"})
@bp.get("/<site>/<page>")
def page(site: str, page: str):
    """Render one demo page of one demo site."""
    if site not in SITES or page not in PAGES:
        abort(404)
    return _render(site, page, DemoContactForm())


def _render(site: str, page: str, form: DemoContactForm, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template(
        f"demo/{page}.html",
        site=site,
        info=SITES[site],
        pages=PAGES,
        page=page,
        title=PAGES[page],
        form=form,
        level=default_level_label(SITES[site]["channel"]),
    ), status


@bp.post("/<site>/contact")
def submit_contact(site: str):
    """Record the contact form server-side as a form submission, then thank the visitor."""
    if site not in SITES:
        abort(404)
    form = DemoContactForm()
    if not form.validate_on_submit():
        return _render(site, "contact", form, 400)
    fields = {
        name: form[name].data or "" for name in ("first_name", "last_name", "email", "company")
    }
    result = record_contact_form(
        SITES[site]["channel"],
        fields,
        dict(request.cookies),
        user_agent=request.headers.get("User-Agent"),
        gpc=request.headers.get("Sec-GPC") == "1",
    )
    response = _thanks(site)
    if result is not None and result.tracked and result.contact:
        response = make_response(response)
        response.set_cookie("CurrentContact", result.contact, max_age=31536000, samesite="Lax")
    return response


@bp.post("/<site>/subscribed")
def subscribed(site: str):
    """Where the newsletter form lands without JavaScript (with it, the snippet records it)."""
    if site not in SITES:
        abort(404)
    return _thanks(site)


def _thanks(site: str) -> str:
    return render_template(
        "demo/thanks.html",
        site=site,
        info=SITES[site],
        pages=PAGES,
        page=None,
        title="Thanks",
        level=default_level_label(SITES[site]["channel"]),
    )
