"""Channel pages (channel managers): settings, cookie level with its impact, install, keys."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..domain.cookie_levels import LEVEL_MEANINGS, CookieLevel
from ..models import Channel, ChannelType
from ..permissions import Permission, permission_required
from . import bp
from .forms import (
    ActionForm,
    ApiKeyForm,
    ChannelCreateForm,
    ChannelForm,
    ClickLinkForm,
    show_error,
)
from .services import (
    WINDOW_DAYS,
    ChannelError,
    channel_history,
    click_link,
    create_api_key,
    create_channel,
    get_api_key,
    get_channel,
    impact_preview,
    last_activity_at,
    latest_hits,
    list_api_keys,
    list_channels,
    list_consents,
    revoke_api_key,
    tracking_url,
    update_channel,
)

# Row ids: larger numbers are no row (and would overflow the database's integer).
ID = "int(max=2147483647)"


def _level_label(value: object) -> str:
    try:
        return f"{CookieLevel(value).label} ({int(value)})"  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return str(value)


@bp.context_processor
def _template_helpers() -> dict:
    return {
        "LEVEL_MEANINGS": LEVEL_MEANINGS,
        "WINDOW_DAYS": WINDOW_DAYS,
        "ChannelType": ChannelType,
        "Permission": Permission,
        "level_label": _level_label,
    }


def _channel_or_404(
    channel_id: int, *, lock: bool = False, kind: ChannelType | None = None
) -> Channel:
    """The channel, or 404 when it does not exist or is not of ``kind``."""
    channel = get_channel(channel_id, lock=lock)
    if channel is None or (kind is not None and channel.type != kind):
        abort(404)
    return channel


@bp.get("/")
@permission_required(Permission.MANAGE_CHANNELS)
def index():
    """List channels with type, default level and the tracked share of recent hits."""
    return render_template("channels/index.html", summaries=list_channels())


@bp.route("/new/<any(website, email, headless):channel_type>", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_CHANNELS)
def create(channel_type: str):
    """Create a website, email or headless channel."""
    kind = ChannelType(channel_type)
    form = ChannelCreateForm(channel_type=kind, consents=list_consents())
    if form.validate_on_submit():
        try:
            channel = create_channel(form.code_name.data, kind, form.settings(), actor=current_user)
        except ChannelError as exc:
            show_error(form, str(exc), exc.field)
        else:
            flash(f"Created {channel.display_name}.", "success")
            return redirect(url_for("channels.install", channel_id=channel.id))
    status = 400 if form.errors else 200
    return render_template("channels/create.html", form=form, channel_type=kind), status


@bp.get(f"/<{ID}:channel_id>")
@permission_required(Permission.MANAGE_CHANNELS)
def detail(channel_id: int):
    """A channel's settings and its change history."""
    channel = _channel_or_404(channel_id)
    return render_template(
        "channels/detail.html", channel=channel, history=channel_history(channel)
    )


@bp.route(f"/<{ID}:channel_id>/edit", methods=["GET", "POST"])
@permission_required(Permission.MANAGE_CHANNELS)
def edit(channel_id: int):
    """Change a channel's settings; "Preview impact" shows the level's effect without saving."""
    channel = _channel_or_404(channel_id, lock=request.method == "POST")
    form = ChannelForm(
        obj=channel,
        allowed_origins=[o.origin for o in channel.origins],
        channel_type=channel.type,
        consents=list_consents(),
    )
    previewed = None
    if form.validate_on_submit():
        if form.wants_preview:
            previewed = form.settings().default_cookie_level
        else:
            try:
                update_channel(channel, form.settings(), actor=current_user)
            except ChannelError as exc:
                show_error(form, str(exc), exc.field)
            else:
                flash(f"Saved {channel.display_name}.", "success")
                return redirect(url_for("channels.detail", channel_id=channel.id))
    impact = impact_preview(channel, honours_gpc=bool(form.honour_gpc.data))
    return render_template(
        "channels/edit.html", form=form, channel=channel, impact=impact, previewed=previewed
    ), 400 if form.errors else 200


def _install_page(channel: Channel, status: int = 200, **forms):  # type: ignore[no-untyped-def]
    """Render the install page; ``forms`` override the blank key and link forms."""
    root = request.url_root
    return render_template(
        "channels/install.html",
        channel=channel,
        tracker_url=tracking_url(root, "tracker.js"),
        collect_url=tracking_url(root, "collect"),
        hits=latest_hits(channel),
        last_activity=last_activity_at(channel),
        keys=list_api_keys(channel) if channel.type == ChannelType.HEADLESS else [],
        key_form=forms.get("key_form") or ApiKeyForm(formdata=None),
        link_form=forms.get("link_form") or ClickLinkForm(formdata=None),
        link=forms.get("link"),
    ), status


@bp.get(f"/<{ID}:channel_id>/install")
@permission_required(Permission.MANAGE_CHANNELS)
def install(channel_id: int):
    """The snippet (or API or link form) of a channel, its consent and the last hits received."""
    return _install_page(_channel_or_404(channel_id))


@bp.post(f"/<{ID}:channel_id>/keys")
@permission_required(Permission.MANAGE_CHANNELS)
def create_key(channel_id: int):
    """Issue an API key for a headless channel and show it once (never stored in plain)."""
    channel = _channel_or_404(channel_id, kind=ChannelType.HEADLESS)
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return _install_page(channel, 400, key_form=form)
    key, plain = create_api_key(channel, form.name.data, actor=current_user)
    page = render_template("channels/key_created.html", channel=channel, key=key, plain=plain)
    return page, 200, {"Cache-Control": "no-store"}


@bp.post(f"/<{ID}:channel_id>/keys/<{ID}:key_id>/revoke")
@permission_required(Permission.MANAGE_CHANNELS)
def revoke_key(channel_id: int, key_id: int):
    """Revoke an API key at once."""
    key = get_api_key(_channel_or_404(channel_id), key_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    revoke_api_key(key, actor=current_user)
    flash(f"Revoked key {key.name} ({key.prefix}…).", "success")
    return redirect(url_for("channels.install", channel_id=channel_id, _anchor="keys"))


@bp.post(f"/<{ID}:channel_id>/link")
@permission_required(Permission.MANAGE_CHANNELS)
def link(channel_id: int):
    """Make a signed, tracked link of an email channel (nothing is stored)."""
    channel = _channel_or_404(channel_id, kind=ChannelType.EMAIL)
    form = ClickLinkForm()
    if not form.validate_on_submit():
        return _install_page(channel, 400, link_form=form)
    secret = current_app.config["SECRET_KEY"]
    made = click_link(request.url_root, channel, form.url.data, form.contact.data, secret)
    return _install_page(channel, link_form=form, link=made)
