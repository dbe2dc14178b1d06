"""Consent pages (channel managers): definitions, text versions and the agreement log."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from ..channels.forms import show_error
from ..models import Consent
from ..permissions import Permission, permission_required
from . import bp
from .forms import ActionForm, ConsentCreateForm, ConsentForm
from .services import (
    AgreementView,
    ConsentError,
    agreement_counts,
    channels_using,
    create_consent,
    delete_consent,
    get_archive,
    get_consent,
    list_agreements,
    list_consents,
    sanitise_html,
    text_versions,
    update_consent,
)

# Row ids: larger numbers are no row (and would overflow the database's integer).
ID = "int(max=2147483647)"


@bp.context_processor
def _template_helpers() -> dict:
    # Stored full texts are sanitised on save; sanitising again on output also covers rows
    # written by other means (seed data, imports).
    return {"consent_html": lambda text: Markup(sanitise_html(text or ""))}  # noqa: S704


def _consent_or_404(consent_id: int, *, lock: bool = False) -> Consent:
    return get_consent(consent_id, lock=lock) or abort(404)


@bp.get("/")
@permission_required(Permission.MANAGE_CONSENTS)
def index():
    """List consent definitions with the channels using them and their current agreements."""
    return render_template("consent/index.html", summaries=list_consents())


@bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_CONSENTS)
def create():
    """Create a consent definition."""
    form = ConsentCreateForm()
    if form.validate_on_submit():
        try:
            consent = create_consent(form.code_name.data, form.texts(), actor=current_user)
        except ConsentError as exc:
            show_error(form, str(exc), exc.field)
        else:
            flash(f"Created {consent.display_name}.", "success")
            return redirect(url_for("consent.edit", consent_id=consent.id))
    return render_template("consent/create.html", form=form), 400 if form.errors else 200


@bp.route(f"/<{ID}:consent_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_CONSENTS)
def edit(consent_id: int):
    """Edit a consent's texts; a version someone agreed to is archived first."""
    consent = _consent_or_404(consent_id, lock=request.method == "POST")
    form = ConsentForm(obj=consent)
    if form.validate_on_submit():
        try:
            archived = update_consent(consent, form.texts(), actor=current_user)
        except ConsentError as exc:
            show_error(form, str(exc), exc.field)
        else:
            note = " The previous text was archived: people agreed to it." if archived else ""
            flash(f"Saved {consent.display_name}.{note}", "success")
            return redirect(url_for("consent.edit", consent_id=consent.id))
    return render_template(
        "consent/edit.html", form=form, consent=consent, used_by=channels_using(consent)
    ), 400 if form.errors else 200


@bp.post(f"/<{ID}:consent_id>/delete")
@permission_required(Permission.MANAGE_CONSENTS)
def delete(consent_id: int):
    """Delete a consent, unless a channel uses it."""
    consent = _consent_or_404(consent_id, lock=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        delete_consent(consent, actor=current_user)
    except ConsentError as exc:
        flash(str(exc), "error")
        return redirect(url_for("consent.edit", consent_id=consent_id))
    flash("Deleted the consent.", "success")
    return redirect(url_for("consent.index"))


@bp.get(f"/<{ID}:consent_id>/versions")
@permission_required(Permission.MANAGE_CONSENTS)
def archive(consent_id: int):
    """The current and archived text versions with their agreement counts."""
    consent = _consent_or_404(consent_id)
    return render_template("consent/archive.html", consent=consent, versions=text_versions(consent))


@bp.get(f"/<{ID}:consent_id>/versions/<{ID}:archive_id>")
@permission_required(Permission.MANAGE_CONSENTS)
def archived_version(consent_id: int, archive_id: int):
    """The texts of one archived version."""
    consent = _consent_or_404(consent_id)
    version = get_archive(consent, archive_id) or abort(404)
    return render_template("consent/archived_version.html", consent=consent, version=version)


@bp.get(f"/<{ID}:consent_id>/agreements")
@permission_required(Permission.MANAGE_CONSENTS)
def agreements(consent_id: int):
    """Current agreements (R14) or revocations, with counts by text version."""
    consent = _consent_or_404(consent_id)
    view = request.args.get("view", AgreementView.CURRENT, type=AgreementView)
    with_contacts = current_user.can(Permission.VIEW_CONTACTS)
    page = list_agreements(
        consent, view, before=request.args.get("before", type=int), with_contacts=with_contacts
    )
    return render_template(
        "consent/agreements.html",
        consent=consent,
        view=view,
        page=page,
        counts=agreement_counts(consent),
        versions={v.text_hash: v for v in text_versions(consent)},
        with_contacts=with_contacts,
        contact_links=with_contacts and "contacts.detail" in current_app.view_functions,
    )
