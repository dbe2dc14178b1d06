"""Contact, bulk-action, import, activity-log and activity-type forms."""

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Field,
    HiddenField,
    IntegerField,
    SearchField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)

from .activities import ActivityFilter
from .bulk import MAX_SELECTED, BulkAction, BulkRequest
from .filters import DEFAULT_SORT, SORTS, ContactFilter, ContactListQuery
from .keyset import Cursor, InvalidCursor, decode_cursor
from .services import EDITABLE_FIELDS, Choice
from .validation import clean_country, clean_email, max_length

MAX_ID = 2**31 - 1
PAGE_SIZES = (25, 50, 100)
CODE_NAME = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$")


class _Text:
    """Refuses NUL characters, which no database column may hold."""

    def pre_validate(self, form: FlaskForm) -> None:
        if isinstance(self.data, str) and "\x00" in self.data:  # type: ignore[attr-defined]
            raise StopValidation("Contains a NUL character.")


class TextField(_Text, StringField):
    """A one-line text field."""


class LongTextField(_Text, TextAreaField):
    """A multi-line text field."""


class SearchTextField(_Text, SearchField):
    """A search box."""


class MailField(_Text, EmailField):
    """An email field."""


def cleaned(clean: Callable[[str], object]) -> Callable[[FlaskForm, Field], None]:
    """A validator that normalises a non-empty field with ``clean`` or shows its ValueError."""

    def validator(form: FlaskForm, field: Field) -> None:
        if field.data:
            try:
                field.data = clean(field.data)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None

    return validator


def plausible_date(form: FlaskForm, field: Field) -> None:
    """Keep dates where day arithmetic cannot overflow."""
    if field.data and not date(1900, 1, 1) <= field.data <= date(2999, 12, 31):
        raise ValidationError("Use a date between 1900 and 2999.")


def _choices(options: Iterable[Choice], empty: str) -> list[SelectChoice]:
    return [SelectChoice("", empty), *(SelectChoice(str(o.id), o.name) for o in options)]


def _id(value: str | None) -> int | None:
    return int(value) if value else None


def _cursor(field: Field, kind: type) -> Cursor | None:
    if not field.data:
        return None
    try:
        return decode_cursor(field.data, kind)
    except InvalidCursor:
        raise ValidationError(
            "This page link is damaged; start again from the first page."
        ) from None


class ContactFilterForm(FlaskForm):
    """Search, filters, sort and page of the contact list (read from the query string)."""

    class Meta:
        csrf = False

    q = SearchTextField("Search", validators=[Optional(), Length(max=254)])
    identified = SelectField(
        "Identified",
        choices=[
            SelectChoice("", "Any"),
            SelectChoice("identified", "Identified (has an email)"),
            SelectChoice("anonymous", "Anonymous"),
        ],
        default="",
    )
    country = TextField("Country", validators=[Optional(), cleaned(clean_country)])
    status = SelectField("Status", default="")
    created_from = DateField("Created from", validators=[Optional(), plausible_date])
    created_to = DateField("Created to", validators=[Optional(), plausible_date])
    channel = SelectField("Active on channel", default="")
    days = IntegerField(
        "in the last (days)", default=30, validators=[Optional(), NumberRange(1, 3650)]
    )
    group = SelectField("Member of group", default="")
    sort = SelectField(
        "Sort by",
        choices=[SelectChoice(k, s.label) for k, s in SORTS.items()],
        default=DEFAULT_SORT,
    )
    dir = SelectField(
        "Direction",
        choices=[
            SelectChoice("", "Default"),
            SelectChoice("asc", "Ascending"),
            SelectChoice("desc", "Descending"),
        ],
        default="",
    )
    per_page = SelectField(
        "Per page", choices=[SelectChoice(str(n), str(n)) for n in PAGE_SIZES], default="50"
    )
    after = HiddenField()
    count = BooleanField("Count the matches")

    def set_options(
        self, statuses: list[Choice], channels: list[Choice], groups: list[Choice]
    ) -> None:
        """Fill the selects whose options live in the database."""
        self.status.choices = _choices(statuses, "Any")
        self.channel.choices = _choices(channels, "Any")
        self.group.choices = _choices(groups, "Any")

    def validate_created_to(self, field: Field) -> None:
        if field.data and self.created_from.data and field.data < self.created_from.data:
            raise ValidationError("Must not be before the start.")

    def validate_after(self, field: Field) -> None:
        _cursor(field, SORTS[self.sort.data].kind if self.sort.data in SORTS else str)

    def contact_filter(self) -> ContactFilter:
        """The validated filter."""
        return ContactFilter(
            q=(self.q.data or "").strip(),
            identified={"identified": True, "anonymous": False}.get(self.identified.data),
            country=self.country.data or None,
            status_id=_id(self.status.data),
            created_from=self.created_from.data,
            created_to=self.created_to.data,
            channel_id=_id(self.channel.data),
            active_days=self.days.data or 30,
            group_id=_id(self.group.data),
        )

    def list_query(self) -> ContactListQuery:
        """The validated filter, sort and page."""
        sort = self.sort.data
        descending = SORTS[sort].descending_first if not self.dir.data else self.dir.data == "desc"
        return ContactListQuery(
            self.contact_filter(),
            sort,
            descending,
            _cursor(self.after, SORTS[sort].kind),
            int(self.per_page.data),
        )


class ContactForm(FlaskForm):
    """Edit a contact's personal details. An email in use elsewhere is an error, never a merge."""

    first_name = TextField("First name", validators=[Length(max=max_length("first_name"))])
    middle_name = TextField("Middle name", validators=[Length(max=max_length("middle_name"))])
    last_name = TextField("Last name", validators=[Length(max=max_length("last_name"))])
    email = MailField(
        "Email", validators=[Optional(), Length(max=max_length("email")), cleaned(clean_email)]
    )
    company = TextField("Company", validators=[Length(max=max_length("company"))])
    job_title = TextField("Job title", validators=[Length(max=max_length("job_title"))])
    address = TextField("Address", validators=[Length(max=max_length("address"))])
    city = TextField("City", validators=[Length(max=max_length("city"))])
    zip = TextField("ZIP", validators=[Length(max=max_length("zip"))])
    country = TextField("Country", validators=[Optional(), cleaned(clean_country)])
    mobile_phone = TextField("Mobile phone", validators=[Length(max=max_length("mobile_phone"))])
    business_phone = TextField(
        "Business phone", validators=[Length(max=max_length("business_phone"))]
    )
    birthday = DateField("Birthday", validators=[Optional(), plausible_date])
    notes = LongTextField("Notes", validators=[Length(max=10_000)])
    # A browser always sends the select; a request without it is refused, not read as "none".
    status_id = SelectField("Status")

    def set_statuses(self, statuses: list[Choice]) -> None:
        """Fill the status select."""
        self.status_id.choices = _choices(statuses, "No status")

    def values(self) -> dict[str, object]:
        """The edited fields, stripped; empty text becomes NULL."""
        result: dict[str, object] = {}
        for name in EDITABLE_FIELDS:
            value = getattr(self, name).data
            if isinstance(value, str):
                value = value.strip() or None
            result[name] = value
        return result

    def chosen_status(self) -> int | None:
        """The chosen status, or None."""
        return _id(self.status_id.data)


class TimelineFilterForm(FlaskForm):
    """Type and channel filters and the page of an activity list (query string)."""

    class Meta:
        csrf = False

    type = SelectField("Type", default="")
    channel = SelectField("Channel", default="")
    after = HiddenField()

    def set_options(self, types: list[Choice], channels: list[Choice]) -> None:
        """Fill the selects."""
        self.type.choices = _choices(types, "All types")
        self.channel.choices = _choices(channels, "All channels")

    def validate_after(self, field: Field) -> None:
        _cursor(field, datetime)

    def cursor(self) -> Cursor | None:
        """The page to show."""
        return _cursor(self.after, datetime)

    def type_id(self) -> int | None:
        """The chosen activity type, or None."""
        return _id(self.type.data)

    def channel_id(self) -> int | None:
        """The chosen channel, or None."""
        return _id(self.channel.data)


class BulkForm(FlaskForm):
    """A bulk action, its scope and its target; read from the query string to confirm (without
    CSRF) and from the confirmation's POST to run."""

    action = SelectField(
        "Action",
        choices=[
            SelectChoice("", "Choose an action"),
            *(SelectChoice(a.value, a.label) for a in BulkAction),
        ],
        validators=[DataRequired("Choose an action.")],
    )
    scope = SelectField(
        "Apply to",
        choices=[
            SelectChoice("selected", "Selected contacts"),
            SelectChoice("filter", "All contacts matching the filter"),
        ],
        default="selected",
    )
    ids = SelectMultipleField("Contacts", coerce=int, validate_choice=False)
    target_group = SelectField("Group", default="")
    target_status = SelectField("New status", default="")

    def set_options(self, groups: list[Choice], statuses: list[Choice]) -> None:
        """Fill the group and status selects."""
        self.target_group.choices = _choices(groups, "Choose a group")
        self.target_status.choices = _choices(statuses, "No status")

    def validate_ids(self, field: Field) -> None:
        if self.scope.data != "selected":
            return
        if not field.data:
            raise ValidationError("Select at least one contact, or apply to the whole filter.")
        if len(field.data) > MAX_SELECTED:
            raise ValidationError(f"Select at most {MAX_SELECTED} contacts.")
        if not all(0 < i <= MAX_ID for i in field.data):
            raise ValidationError("Not a contact id.")

    def validate_target_group(self, field: Field) -> None:
        if self.action.data == BulkAction.ADD_TO_GROUP and not field.data:
            raise ValidationError("Choose a group.")

    def bulk_request(self, contact_filter: ContactFilter) -> BulkRequest:
        """The validated request."""
        return BulkRequest(
            action=BulkAction(self.action.data),
            contact_filter=contact_filter,
            ids=tuple(sorted(set(self.ids.data))) if self.scope.data == "selected" else None,
            group_id=_id(self.target_group.data),
            status_id=_id(self.target_status.data),
        )


class ImportUploadForm(FlaskForm):
    """Upload a CSV file to check it (nothing is written yet)."""

    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file.")])
    submit = SubmitField("Check file")


class ImportConfirmForm(FlaskForm):
    """Import a checked file, carried back in compressed form."""

    payload = HiddenField(validators=[DataRequired()])
    submit = SubmitField("Import")


class ActivityFilterForm(TimelineFilterForm):
    """Filters of the activity log: type, channel, contact and time range (query string)."""

    contact = TextField(
        "Contact (email or id)", validators=[Optional(), Length(max=max_length("email"))]
    )
    since = DateField("From", validators=[Optional(), plausible_date])
    until = DateField("To", validators=[Optional(), plausible_date])

    def validate_contact(self, field: Field) -> None:
        text = (field.data or "").strip()
        if text and not (text.isdigit() and int(text) <= MAX_ID) and "@" not in text:
            raise ValidationError("Give a contact id or an email address.")

    def validate_until(self, field: Field) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("Must not be before the start.")

    def activity_filter(self) -> ActivityFilter:
        """The validated filter."""
        contact = (self.contact.data or "").strip()
        return ActivityFilter(
            type_id=self.type_id(),
            channel_id=self.channel_id(),
            contact_id=int(contact) if contact.isdigit() else None,
            contact_email=contact.lower() if "@" in contact else None,
            since=self.since.data,
            until=self.until.data,
        )


class ActivityTypeForm(FlaskForm):
    """Create or edit a custom activity type."""

    code_name = TextField(
        "Code name",
        validators=[
            DataRequired(),
            Length(max=100),
            Regexp(CODE_NAME, message="Lower-case letters and digits, joined by - or _."),
        ],
    )
    display_name = TextField("Display name", validators=[DataRequired(), Length(max=200)])
    description = LongTextField("Description", validators=[Length(max=1000)])

    def fields(self) -> dict[str, str]:
        """The validated values, stripped."""
        return {
            "code_name": self.code_name.data.strip(),
            "display_name": self.display_name.data.strip(),
            "description": (self.description.data or "").strip(),
        }


class ToggleForm(FlaskForm):
    """Switch something on or off (explicitly: a missing value is an error, not "off")."""

    enabled = SelectField(
        "Enabled",
        choices=[SelectChoice("on", "On"), SelectChoice("off", "Off")],
        validators=[DataRequired()],
    )


class ConfirmForm(FlaskForm):
    """Submit-only form: the CSRF token of a delete or another action without fields."""
