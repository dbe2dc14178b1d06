"""Data-protection pages (admins): find, export or erase a person's data; retention."""

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from ..contacts.forms import ConfirmForm
from ..contacts.services import get_contact, held_data
from ..models import Contact
from ..permissions import Permission, permission_required
from ..progress import running
from . import bp
from .forms import FindForm, RetentionForm
from .services import (
    PURGE,
    PURGE_SUBJECT,
    Retention,
    erase_contact,
    export_contact_data,
    find_contacts,
    get_retention,
    save_retention,
)

# Ids beyond a 32-bit integer cannot exist; refusing them early keeps SQLite from overflowing.
ID = "int(max=2147483647)"


def _contact_or_404(contact_id: int) -> Contact:
    return get_contact(contact_id) or abort(404)


@bp.get("/")
@permission_required(Permission.DATA_PROTECTION)
def index():
    """Find a person by email or GUID; export or erase what is held about them."""
    form = FindForm(formdata=request.args if request.args else None)
    searched = bool(request.args)
    if searched and not form.validate():
        return render_template("privacy/index.html", form=form, results=None), 400
    results = [(c, held_data(c.id)) for c in find_contacts(form.q.data)] if searched else None
    return render_template(
        "privacy/index.html",
        form=form,
        results=results,
        retention=get_retention(),
        confirm_form=ConfirmForm(),
    )


@bp.post(f"/contacts/<{ID}:contact_id>/export")
@permission_required(Permission.DATA_PROTECTION)
def export(contact_id: int):
    """Download everything held about the contact as JSON; audited."""
    contact = _contact_or_404(contact_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    response = jsonify(export_contact_data(contact, current_user))
    response.headers["Content-Disposition"] = (
        f'attachment; filename="contact-{contact_id}-data.json"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route(f"/contacts/<{ID}:contact_id>/erase", methods=["GET", "POST"])
@permission_required(Permission.DATA_PROTECTION)
def erase(contact_id: int):
    """Confirm, then erase the contact with its activities, agreements and memberships (R11)."""
    contact = _contact_or_404(contact_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        held = erase_contact(contact, current_user)
        flash(
            f"Erased contact #{contact_id} with {held.activities:,} activities, "
            f"{held.agreements:,} consent agreements and {held.memberships:,} group memberships.",
            "success",
        )
        return redirect(url_for("privacy.index"))
    return render_template(
        "privacy/erase.html", contact=contact, held=held_data(contact.id), form=form
    ), 400 if form.errors else 200


@bp.route("/retention", methods=["GET", "POST"])
@permission_required(Permission.DATA_PROTECTION)
def retention():
    """The inactive-contact cleanup setting (R12)."""
    form = RetentionForm(obj=get_retention())
    if form.validate_on_submit():
        save_retention(Retention(form.enabled.data, form.days.data), current_user)
        flash("Saved the retention setting.", "success")
        return redirect(url_for("privacy.retention"))
    purge = running(PURGE, PURGE_SUBJECT)
    return render_template("privacy/retention.html", form=form, purge=purge), (
        400 if form.errors else 200
    )
