"""Contact-group pages: list, builder with preview, members, manual members, export, delete."""

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from ..domain import segments as s
from ..models import ContactGroup
from ..permissions import Permission, permission_required
from ..progress import new_key, posted_key, running, track
from . import bp
from .builder import (
    EDIT_ACTIONS,
    apply_action,
    requested_action,
    tree_from_condition,
    tree_from_form,
    tree_view,
)
from .forms import ConfirmForm, GroupForm, ManualMembersForm
from .membership import RECALCULATION, RecalculationRefused
from .services import (
    MEMBER_FILTERS,
    GroupDetails,
    GroupError,
    GroupInUse,
    Preview,
    add_manual_members,
    delete_group,
    describe,
    export_members_csv,
    get_group,
    group_summary,
    list_groups,
    load_catalogue,
    member_page,
    parse_manual_entries,
    preview,
    recalculate,
    record_export,
    referencing_groups,
    remove_manual_member,
    save_group,
    validate_tree,
)

FRAGMENT_HEADER = "X-Builder-Fragment"


def _group_or_404(group_id: int) -> ContactGroup:
    return get_group(group_id) or abort(404)


def _contact_links() -> bool:
    """Whether contact profiles exist to link to."""
    return "contacts.detail" in current_app.view_functions


def _recalculate_and_flash(group_id: int) -> None:
    # Recorded even without a key from the form: the group's page shows a running recalculation
    # to everyone who opens it.
    key = posted_key() or new_key()
    label = "Recalculating the members"
    try:
        with track(
            RECALCULATION, Permission.MANAGE_GROUPS, label, key=key, subject=str(group_id)
        ) as progress:
            first, *others = recalculate(group_id, progress)
            note = f" and {len(others)} group(s) that use it" if others else ""
            message = f"Recalculated: {first.members:,} members in {first.seconds:.1f}s{note}."
            progress.finish(message)
    except RecalculationRefused as exc:
        flash(str(exc), "warning")
        return
    flash(message, "success")


def _details(form: GroupForm) -> GroupDetails:
    return GroupDetails(
        form.code_name.data or "",
        form.display_name.data or "",
        form.description.data or "",
        bool(form.enabled.data),
    )


def _editor(group: ContactGroup | None):  # type: ignore[no-untyped-def]
    """Create and edit share the builder: edit actions, preview, or save."""
    catalogue = load_catalogue()
    group_id = group.id if group else None
    form = GroupForm(obj=group) if request.method == "GET" else GroupForm()
    errors: dict[str, str] = {}
    result: Preview | None = None
    focus = None
    if request.method == "GET":
        tree = tree_from_condition(group.condition if group else None)
        action = ""
    else:
        tree = tree_from_form(request.form)
        action = requested_action(request.form)
    if action.startswith(EDIT_ACTIONS):
        tree, focus = apply_action(tree, action, request.form)
    elif action:
        validation = validate_tree(tree, catalogue, group_id)
        errors = validation.errors
        if action.startswith("save") and form.validate() and validation.condition is not None:
            try:
                saved = save_group(group, _details(form), validation.condition)
            except GroupError as exc:
                form[exc.field].errors.append(str(exc))
            else:
                flash(f"Saved {saved.display_name}.", "success")
                if action == "save_recalculate" and saved.condition:
                    _recalculate_and_flash(saved.id)
                return redirect(url_for("groups.detail", group_id=saved.id))
        elif validation.condition is not None and action == "preview":
            result = preview(validation.condition)
    template = (
        "groups/_builder.html" if request.headers.get(FRAGMENT_HEADER) else "groups/edit.html"
    )
    return render_template(
        template,
        form=form,
        group=group,
        tree=tree_view(tree, catalogue, errors, group_id=group_id),
        errors=errors,
        focus=focus,
        result=result,
        contact_links=_contact_links(),
    ), 400 if errors or form.errors else 200


@bp.get("/")
@permission_required(Permission.MANAGE_GROUPS)
def index():
    """Groups with member counts, status and last calculation."""
    return render_template("groups/index.html", summaries=list_groups())


@bp.route("/new", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_GROUPS)
def create():
    """Build a new group's condition, preview it and save it."""
    return _editor(None)


@bp.route("/<int:group_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_GROUPS)
def edit(group_id: int):
    """Change a group's details and condition."""
    return _editor(_group_or_404(group_id))


@bp.post("/preview")
@permission_required(Permission.MANAGE_GROUPS)
def preview_json():
    """Live preview for the builder's script: count, sample and sentences, or what to fix."""
    catalogue = load_catalogue()
    group_id = request.form.get("group_id", type=int)
    validation = validate_tree(tree_from_form(request.form), catalogue, group_id)
    if validation.condition is None:
        # An incomplete condition is the normal state while editing, not a failed request.
        return jsonify(ok=False, errors=validation.errors)
    result = preview(validation.condition)
    links = _contact_links()
    return jsonify(
        ok=True,
        count=result.count,
        sample=[
            {
                "id": c.id,
                "label": c.label,
                "email": c.email,
                "url": url_for("contacts.detail", contact_id=c.id) if links else None,
            }
            for c in result.sample
        ],
        sentences=s.describe_condition(validation.condition, catalogue),
    )


def _detail_page(group: ContactGroup, manual_form: ManualMembersForm, status: int = 200):  # type: ignore[no-untyped-def]
    how = request.args.get("how", "all")
    how = how if how in MEMBER_FILTERS else "all"
    return render_template(
        "groups/detail.html",
        summary=group_summary(group),
        recalculation=running(RECALCULATION, str(group.id)),
        sentences=describe(group, load_catalogue()),
        page=member_page(group.id, after=request.args.get("after", type=int), how=how),
        how=how,
        filters=MEMBER_FILTERS,
        first_page=request.args.get("after") is None,
        manual_form=manual_form,
        contact_links=_contact_links(),
    ), status


@bp.get("/<int:group_id>")
@permission_required(Permission.MANAGE_GROUPS)
def detail(group_id: int):
    """A group: its condition in words, status, manual members form and the member list."""
    return _detail_page(_group_or_404(group_id), ManualMembersForm())


@bp.post("/<int:group_id>/recalculate")
@permission_required(Permission.MANAGE_GROUPS)
def recalculate_view(group_id: int):
    """Rebuild the group's membership from its condition now."""
    _recalculate_and_flash(_group_or_404(group_id).id)
    return redirect(url_for("groups.detail", group_id=group_id))


@bp.post("/<int:group_id>/members")
@permission_required(Permission.MANAGE_GROUPS)
def add_members(group_id: int):
    """Add contacts by hand (by email or GUID)."""
    group = _group_or_404(group_id)
    form = ManualMembersForm()
    if form.validate_on_submit():
        try:
            result = add_manual_members(group, *parse_manual_entries(form.entries.data or ""))
        except GroupError as exc:
            form.entries.errors.append(str(exc))
        else:
            flash(_added_message(result.added, result.already, result.not_found), "success")
            return redirect(url_for("groups.detail", group_id=group.id, how="manual"))
    return _detail_page(group, form, 400)


def _added_message(added: int, already: int, not_found: list[str]) -> str:
    parts = [f"Added {added} contact(s) by hand."]
    if already:
        parts.append(f"{already} were members by hand already.")
    if not_found:
        shown = ", ".join(not_found[:10]) + (" …" if len(not_found) > 10 else "")
        parts.append(f"Not found: {shown}.")
    return " ".join(parts)


@bp.post("/<int:group_id>/members/<int:contact_id>/remove")
@permission_required(Permission.MANAGE_GROUPS)
def remove_member(group_id: int, contact_id: int):
    """Take a hand-added member out of the group."""
    group = _group_or_404(group_id)
    if not remove_manual_member(group, contact_id):
        abort(404)
    flash("Removed the contact's manual membership.", "success")
    return redirect(url_for("groups.detail", group_id=group.id, how="manual"))


@bp.get("/<int:group_id>/export")
@permission_required(Permission.MANAGE_GROUPS)
def export(group_id: int):
    """Stream the members as formula-safe CSV."""
    group = _group_or_404(group_id)
    record_export(group, current_user)
    return Response(
        export_members_csv(group.id),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="group-{group.code_name}.csv"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/<int:group_id>/delete", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_GROUPS)
def delete(group_id: int):
    """Confirm and delete; refused while other groups' conditions use the group."""
    group = _group_or_404(group_id)
    name = group.display_name
    if ConfirmForm().validate_on_submit():
        try:
            delete_group(group)
        except GroupInUse:
            pass
        else:
            flash(f"Deleted {name}.", "success")
            return redirect(url_for("groups.index"))
    users = referencing_groups(group.id)
    status = 409 if users and request.method == "POST" else 200
    return render_template(
        "groups/delete.html", group=group, users=users, summary=group_summary(group)
    ), status
