"""The demo website's contact form."""

from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Email, Length


class DemoContactForm(FlaskForm):
    """A form a website's server records as a ``bizformsubmit`` (legitimate interest, R9)."""

    first_name = StringField("First name", validators=[Length(max=100)])
    last_name = StringField("Last name", validators=[Length(max=100)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    company = StringField("Company", validators=[Length(max=200)])
