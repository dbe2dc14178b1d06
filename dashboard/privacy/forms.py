"""Data-protection forms."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from ..contacts.forms import SearchTextField
from .services import MIN_RETENTION_DAYS


class FindForm(FlaskForm):
    """Find the contacts a data-subject request is about (query string)."""

    class Meta:
        csrf = False

    q = SearchTextField("Email or contact GUID", validators=[DataRequired(), Length(max=254)])


class RetentionForm(FlaskForm):
    """The inactive-contact cleanup setting (R12)."""

    enabled = BooleanField("Delete inactive contacts")
    days = IntegerField(
        "Inactive for (days)",
        validators=[
            InputRequired(),
            NumberRange(min=MIN_RETENTION_DAYS, max=36500, message="At least 7 days."),
        ],
    )
