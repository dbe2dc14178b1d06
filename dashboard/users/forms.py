"""User management forms."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from ..models import Role

ROLE_CHOICES = [SelectChoice(r.value, r.label) for r in Role]


class UserCreateForm(FlaskForm):
    """Create a user; the password is generated and shown once."""

    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField("Name", validators=[Length(max=120)])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])
    submit = SubmitField("Create user")


class UserEditForm(FlaskForm):
    """Change a user's name, role or active switch."""

    name = StringField("Name", validators=[Length(max=120)])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])
    active = BooleanField("Active (may log in)")
    submit = SubmitField("Save")


class ResetPasswordForm(FlaskForm):
    """Submit-only form: generate a new password and end the user's sessions."""

    submit = SubmitField("Reset password")
