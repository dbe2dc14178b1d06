"""Channel forms: settings, API keys and signed email links."""

import uuid
from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from ..domain.cookie_levels import CookieLevel
from ..models import ChannelType, Consent
from .origins import MAX_ORIGINS, parse_origins
from .services import ChannelSettings

CODE_NAME_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
CODE_NAME_MESSAGE = "Use lower-case letters, digits and single hyphens, e.g. corporate-site."
LEVEL_CHOICES = [SelectChoice(int(level), f"{level.label} ({int(level)})") for level in CookieLevel]
MAX_URL_LENGTH = 2000


def strip(value: str | None) -> str | None:
    """Filter: trim surrounding whitespace."""
    return value.strip() if isinstance(value, str) else value


def optional_id(value: object) -> int | None:
    """Coerce a select value: empty means none, anything else must be an integer id."""
    if value in (None, ""):
        return None
    return int(value)  # type: ignore[call-overload]


def show_error(form: FlaskForm, message: str, field: str | None = None) -> None:
    """Show a rule broken on saving next to ``field``, or above the form when it has none."""
    if field and field in form:
        form[field].errors.append(message)
    else:
        form.form_errors.append(message)


def code_name_field() -> StringField:
    """The code name field shared by channels and consents: a unique slug."""
    return StringField(
        "Code name",
        filters=[strip],
        validators=[
            DataRequired(),
            Length(max=100),
            Regexp(CODE_NAME_PATTERN, message=CODE_NAME_MESSAGE),
        ],
    )


class OriginsField(TextAreaField):
    """One origin per line; ``data`` is the list of normalised origins."""

    def _value(self) -> str:
        if self.raw_data:  # re-show what was typed, bad lines included
            return self.raw_data[0]
        return "\n".join(self.data or [])

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        self.data, bad = parse_origins(valuelist[0])
        if bad:
            shown = ", ".join(line[:80] for line in bad[:5])
            raise ValueError(f"Not an origin (scheme://host[:port], no path): {shown}")
        if len(self.data) > MAX_ORIGINS:
            raise ValueError(f"At most {MAX_ORIGINS} origins.")


class ChannelForm(FlaskForm):
    """A channel's settings; fields that do not apply to the channel's type are removed."""

    display_name = StringField(
        "Display name", filters=[strip], validators=[DataRequired(), Length(max=200)]
    )
    default_cookie_level = RadioField(
        "Default cookie level",
        coerce=int,
        choices=LEVEL_CHOICES,
        default=int(CookieLevel.ESSENTIAL),
    )
    allowed_origins = OriginsField("Allowed origins", default=list, render_kw={"rows": 4})
    tracking_consent_id = SelectField("Tracking consent", coerce=optional_id)
    honour_gpc = BooleanField("Honour Global Privacy Control", default=True)
    count_untracked = BooleanField("Count untracked hits", default=True)
    erase_on_revoke = BooleanField("Erase a contact's activities when consent is revoked")
    enabled = BooleanField("Enabled (accepts tracking requests)", default=True)
    preview = SubmitField("Preview impact")
    submit = SubmitField("Save")

    def __init__(self, *args, channel_type: ChannelType, consents: list[Consent], **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.tracking_consent_id.choices = [SelectChoice("", "None")] + [
            SelectChoice(str(c.id), f"{c.display_name} ({c.code_name})") for c in consents
        ]
        if channel_type != ChannelType.WEBSITE:
            del self.allowed_origins
        if channel_type == ChannelType.EMAIL:
            # Email clicks are tracked by agreement to the consent, not by a cookie level.
            del self.default_cookie_level
            del self.preview

    @property
    def wants_preview(self) -> bool:
        """Whether the Preview button (not Save) sent the form."""
        return "preview" in self and bool(self.preview.data)

    def settings(self) -> ChannelSettings:
        """The submitted settings; None for the ones the channel's type does not have."""
        level = self.default_cookie_level.data if "default_cookie_level" in self else None
        return ChannelSettings(
            display_name=self.display_name.data,
            default_cookie_level=CookieLevel(level) if level is not None else None,
            origins=self.allowed_origins.data if "allowed_origins" in self else None,
            tracking_consent_id=self.tracking_consent_id.data,
            honour_gpc=self.honour_gpc.data,
            count_untracked=self.count_untracked.data,
            erase_on_revoke=self.erase_on_revoke.data,
            enabled=self.enabled.data,
        )


class ChannelCreateForm(ChannelForm):
    """A new channel: its settings and the code name, which never changes afterwards."""

    code_name = code_name_field()
    submit = SubmitField("Create channel")

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if "preview" in self:
            del self.preview  # a new channel has no hits to preview


class ApiKeyForm(FlaskForm):
    """Issue a bearer key for a headless channel."""

    name = StringField("Key name", filters=[strip], validators=[DataRequired(), Length(max=100)])
    submit = SubmitField("Create key")


def _http_url(_form: FlaskForm, field: Field) -> None:
    parts = urlsplit(field.data or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("Give an http:// or https:// address.")


def _guid(_form: FlaskForm, field: Field) -> None:
    try:
        field.data = str(uuid.UUID(field.data))
    except ValueError:
        raise ValidationError(
            "Give a contact GUID, e.g. 2f1c0f5e-3b8e-4c47-9a59-0d2b1a3c4d5e."
        ) from None


class ClickLinkForm(FlaskForm):
    """The target address and contact of a signed, tracked email link."""

    url = StringField(
        "Target address",
        filters=[strip],
        validators=[DataRequired(), Length(max=MAX_URL_LENGTH), _http_url],
    )
    contact = StringField("Contact GUID", filters=[strip], validators=[DataRequired(), _guid])
    submit = SubmitField("Make link")


class ActionForm(FlaskForm):
    """Submit-only form: checks the CSRF token of an action button (revoke a key)."""
