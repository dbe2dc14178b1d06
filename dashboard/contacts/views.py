"""Contact pages: list, profile, edit, delete, bulk actions, import, export, activity log and
activity types."""

from collections.abc import Callable

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm

from ..models import ActivityType, Contact
from ..permissions import Permission, permission_required
from ..progress import posted_key, track
from . import bp
from .activities import (
    activity_log,
    create_activity_type,
    get_activity_type,
    list_activity_types,
    set_activity_type_enabled,
    update_activity_type,
)
from .bulk import BulkAction, count_bulk_targets, run_bulk
from .exporting import export_csv, record_export
from .forms import (
    ActivityFilterForm,
    ActivityTypeForm,
    BulkForm,
    ConfirmForm,
    ContactFilterForm,
    ContactForm,
    ImportConfirmForm,
    ImportUploadForm,
    TimelineFilterForm,
    ToggleForm,
)
from .importing import ImportAborted, check_upload, import_outcome, import_upload
from .services import (
    FieldError,
    FilterOptions,
    contact_consents,
    contact_label,
    contact_memberships,
    contact_timeline,
    count_contacts,
    delete_contact,
    filter_options,
    get_contact,
    list_contacts,
    update_contact,
)

# Ids beyond a 32-bit integer cannot exist; refusing them early keeps SQLite from overflowing.
ID = "int(max=2147483647)"

DONE = {
    BulkAction.DELETE: "Deleted {n:,} contacts.",
    BulkAction.ADD_TO_GROUP: "Added {n:,} contacts to the group.",
    BulkAction.SET_STATUS: "Changed the status of {n:,} contacts.",
}


@bp.app_template_filter("contact_label")
def contact_label_filter(contact: Contact) -> str:
    """``{{ contact|contact_label }}``: the contact's name, else its email, else anonymous."""
    return contact_label(contact.first_name, contact.last_name, contact.email, contact.id)


def _contact_or_404(contact_id: int) -> Contact:
    return get_contact(contact_id) or abort(404)


def _activity_type_or_404(type_id: int) -> ActivityType:
    return get_activity_type(type_id) or abort(404)


def _saved(form: FlaskForm, save: Callable[[], object]) -> bool:
    """Run ``save``; show its FieldError on the field it names. Return whether it saved."""
    try:
        save()
    except FieldError as exc:
        getattr(form, exc.field).errors.append(str(exc))
        return False
    return True


def _filter_form(options: FilterOptions, formdata) -> ContactFilterForm:  # type: ignore[no-untyped-def]
    form = ContactFilterForm(formdata=formdata)
    form.set_options(options.statuses, options.channels, options.groups)
    return form


def _bulk_form(options: FilterOptions, formdata, **meta) -> BulkForm:  # type: ignore[no-untyped-def]
    form = BulkForm(formdata=formdata, meta=meta)
    form.set_options(options.groups, options.statuses)
    return form


@bp.get("/")
@permission_required(Permission.VIEW_CONTACTS)
def index():
    """The contact list: search, filters, sort, keyset pages; a count only when asked for."""
    options = filter_options()
    form = _filter_form(options, request.args)
    bulk_form = _bulk_form(options, None, csrf=False)
    if not form.validate():
        return render_template(
            "contacts/index.html", form=form, bulk_form=bulk_form, options=options, page=None
        ), 400
    query = form.list_query()
    count = count_contacts(query.contact_filter) if form.count.data else None
    return render_template(
        "contacts/index.html",
        form=form,
        bulk_form=bulk_form,
        options=options,
        query=query,
        page=list_contacts(query),
        count=count,
    )


@bp.get(f"/<{ID}:contact_id>")
@permission_required(Permission.VIEW_CONTACTS)
def detail(contact_id: int):
    """A profile: details, activity timeline, groups and consents."""
    contact = _contact_or_404(contact_id)
    options = filter_options()
    form = TimelineFilterForm(formdata=request.args)
    form.set_options(options.activity_types, options.channels)
    valid = form.validate()
    timeline = (
        contact_timeline(contact.id, form.type_id(), form.channel_id(), form.cursor())
        if valid
        else None
    )
    return render_template(
        "contacts/detail.html",
        contact=contact,
        form=form,
        timeline=timeline,
        options=options,
        memberships=contact_memberships(contact.id),
        consents=contact_consents(contact.id),
    ), 200 if valid else 400


@bp.route(f"/<{ID}:contact_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.EDIT_CONTACTS)
def edit(contact_id: int):
    """Edit personal details; an email another contact has is refused, never merged (R10)."""
    contact = _contact_or_404(contact_id)
    form = ContactForm(obj=contact)
    form.set_statuses(filter_options().statuses)
    if form.validate_on_submit() and _saved(
        form, lambda: update_contact(contact, form.values(), form.chosen_status())
    ):
        flash("Saved.", "success")
        return redirect(url_for("contacts.detail", contact_id=contact.id))
    return render_template("contacts/edit.html", form=form, contact=contact), (
        400 if form.errors else 200
    )


@bp.route(f"/<{ID}:contact_id>/delete", methods=["GET", "POST"])
@permission_required(Permission.EDIT_CONTACTS)
def delete(contact_id: int):
    """Confirm, then delete a contact with its activities, agreements and memberships (R11)."""
    contact = _contact_or_404(contact_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        delete_contact(contact, current_user)
        flash(f"Deleted contact #{contact_id}.", "success")
        return redirect(url_for("contacts.index"))
    return render_template("contacts/delete.html", contact=contact, form=form), (
        400 if form.errors else 200
    )


@bp.route("/bulk", methods=["GET", "POST"])
@permission_required(Permission.EDIT_CONTACTS)
def bulk():
    """GET: how many contacts the action would change, and a confirm button; POST: run it."""
    options = filter_options()
    posted = request.method == "POST"
    data = request.form if posted else request.args
    filter_form = _filter_form(options, data)
    form = _bulk_form(options, data) if posted else _bulk_form(options, data, csrf=False)
    if not all([form.validate(), filter_form.validate()]):
        return render_template(
            "contacts/bulk.html", form=form, filter_form=filter_form, options=options, count=None
        ), 400
    bulk_request = form.bulk_request(filter_form.contact_filter())
    if posted:
        done = run_bulk(bulk_request, current_user)
        flash(DONE[bulk_request.action].format(n=done), "success")
        return redirect(url_for("contacts.index", **bulk_request.contact_filter.to_args()))
    return render_template(
        "contacts/bulk.html",
        form=form,
        filter_form=filter_form,
        options=options,
        bulk_request=bulk_request,
        count=count_bulk_targets(bulk_request),
    )


@bp.get("/export.csv")
@permission_required(Permission.EDIT_CONTACTS)
def export():
    """Stream the filtered list as formula-safe CSV, in constant memory; audited."""
    form = _filter_form(filter_options(), request.args)
    if not form.validate():
        abort(400)
    contact_filter = form.contact_filter()
    record_export(contact_filter, current_user)
    return Response(
        export_csv(contact_filter),
        mimetype="text/csv",
        headers={
            "Content-Disposition": 'attachment; filename="contacts.csv"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/import", methods=["GET", "POST"], endpoint="import_csv")
@permission_required(Permission.EDIT_CONTACTS)
def import_csv():
    """Upload a CSV and see its check report; nothing is written at this step."""
    form = ImportUploadForm()
    if not form.validate_on_submit():
        return render_template("contacts/import.html", form=form), 400 if form.errors else 200
    checked = check_upload(form.file.data.read())
    confirm = ImportConfirmForm(payload=checked.payload) if checked.payload else None
    return render_template(
        "contacts/import.html", form=form, report=checked.report, confirm=confirm
    ), 200 if confirm else 400


@bp.post("/import/confirm")
@permission_required(Permission.EDIT_CONTACTS)
def import_confirm():
    """Check the file again and write it in batches."""
    form = ImportConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    try:
        with track(
            "import", Permission.EDIT_CONTACTS, "Importing contacts", key=posted_key()
        ) as progress:
            report = import_upload(form.payload.data, current_user, limit, progress)
            progress.finish(import_outcome(report), report.created + report.updated)
    except ImportAborted as exc:
        flash(str(exc), "error")
        return redirect(url_for("contacts.import_csv"))
    if not report.written:
        upload = ImportUploadForm(formdata=None)
        return render_template("contacts/import.html", form=upload, report=report), 400
    flash(import_outcome(report), "success")
    return redirect(url_for("contacts.index"))


@bp.get("/activities")
@permission_required(Permission.VIEW_CONTACTS)
def activities():
    """The activity log of every contact, filtered, newest first."""
    options = filter_options()
    form = ActivityFilterForm(formdata=request.args)
    form.set_options(options.activity_types, options.channels)
    if not form.validate():
        return render_template("contacts/activities.html", form=form, page=None), 400
    activity_filter = form.activity_filter()
    return render_template(
        "contacts/activities.html",
        form=form,
        page=activity_log(activity_filter, form.cursor()),
        args=activity_filter.to_args(),
    )


@bp.get("/activity-types/")
@permission_required(Permission.VIEW_CONTACTS)
def activity_types():
    """Built-in and custom activity types with their switches."""
    return render_template("contacts/activity_types.html", types=list_activity_types())


@bp.route("/activity-types/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_ACTIVITY_TYPES)
def create_type():
    """Create a custom activity type."""
    form = ActivityTypeForm()
    if form.validate_on_submit() and _saved(
        form, lambda: create_activity_type(**form.fields(), actor=current_user)
    ):
        flash(f"Created activity type {form.code_name.data}.", "success")
        return redirect(url_for("contacts.activity_types"))
    return render_template("contacts/activity_type_form.html", form=form, activity_type=None), (
        400 if form.errors else 200
    )


@bp.route(f"/activity-types/<{ID}:type_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_ACTIVITY_TYPES)
def edit_type(type_id: int):
    """Edit a custom activity type (built-in types can only be switched on and off)."""
    activity_type = _activity_type_or_404(type_id)
    if activity_type.is_builtin:
        abort(404)
    form = ActivityTypeForm(obj=activity_type)
    if form.validate_on_submit() and _saved(
        form, lambda: update_activity_type(activity_type, **form.fields(), actor=current_user)
    ):
        flash(f"Saved activity type {form.code_name.data}.", "success")
        return redirect(url_for("contacts.activity_types"))
    return render_template(
        "contacts/activity_type_form.html", form=form, activity_type=activity_type
    ), 400 if form.errors else 200


@bp.post(f"/activity-types/<{ID}:type_id>/toggle")
@permission_required(Permission.MANAGE_ACTIVITY_TYPES)
def toggle_type(type_id: int):
    """Switch an activity type on or off."""
    activity_type = _activity_type_or_404(type_id)
    form = ToggleForm()
    if not form.validate_on_submit():
        abort(400)
    set_activity_type_enabled(activity_type, form.enabled.data == "on", current_user)
    state = "on" if activity_type.enabled else "off"
    flash(f"Activity type {activity_type.code_name} is {state}.", "success")
    return redirect(url_for("contacts.activity_types"))
