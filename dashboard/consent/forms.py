"""Consent forms: definitions with language variants."""

import re

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, ValidationError

from ..channels.forms import code_name_field, strip
from .services import ConsentTexts, TranslationText

# A BCP 47 language tag of the usual shape: "de", "pt-BR", "zh-Hant", "es-419".
LANGUAGE_TAG = re.compile(r"^[a-zA-Z]{2,3}(?:-[a-zA-Z0-9]{2,8})*$")
MAX_LANGUAGE_LENGTH = 10
MAX_SHORT_TEXT = 2000
MAX_FULL_TEXT = 100_000
MAX_VARIANTS = 30


def normalise_language(tag: str) -> str:
    """Write a language tag the customary way: ``pt-br`` becomes ``pt-BR``."""
    first, *rest = tag.split("-")
    parts = [first.lower()]
    for part in rest:
        if len(part) == 2 and part.isalpha():
            parts.append(part.upper())
        elif len(part) == 4 and part.isalpha():
            parts.append(part.title())
        else:
            parts.append(part.lower())
    return "-".join(parts)


class TranslationForm(Form):
    """One language variant; a row without a language and texts is ignored."""

    language = StringField("Language", filters=[strip])
    short_text = TextAreaField(
        "Short text", validators=[Length(max=MAX_SHORT_TEXT)], render_kw={"rows": 3}
    )
    full_text = TextAreaField(
        "Full text (HTML)", validators=[Length(max=MAX_FULL_TEXT)], render_kw={"rows": 6}
    )
    remove = BooleanField("Remove this language")

    @property
    def is_blank(self) -> bool:
        """No language and no text: an unused row."""
        texts = (self.short_text.data or "") + (self.full_text.data or "")
        return not self.language.data and not texts.strip()

    @property
    def is_kept(self) -> bool:
        """Whether the row becomes a language variant when saved."""
        return not self.is_blank and not self.remove.data

    def validate_language(self, field: Field) -> None:
        if not self.is_kept:
            return
        if not field.data:
            raise ValidationError("Give the language of this variant, e.g. de or pt-BR.")
        if len(field.data) > MAX_LANGUAGE_LENGTH or not LANGUAGE_TAG.match(field.data):
            raise ValidationError("Use a language tag such as de or pt-BR.")
        field.data = normalise_language(field.data)

    def validate_short_text(self, field: Field) -> None:
        if self.is_kept and not (field.data or "").strip():
            raise ValidationError("Give the short text in this language.")


class ConsentForm(FlaskForm):
    """A consent's display name, texts and language variants."""

    display_name = StringField(
        "Display name", filters=[strip], validators=[DataRequired(), Length(max=200)]
    )
    short_text = TextAreaField(
        "Short text",
        validators=[DataRequired(), Length(max=MAX_SHORT_TEXT)],
        render_kw={"rows": 3},
    )
    full_text = TextAreaField(
        "Full text (HTML)", validators=[Length(max=MAX_FULL_TEXT)], render_kw={"rows": 10}
    )
    translations = FieldList(FormField(TranslationForm), max_entries=MAX_VARIANTS)
    submit = SubmitField("Save")

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if not self.is_submitted():
            self.translations.append_entry()  # an empty row to add a language

    def validate_translations(self, field: Field) -> None:
        seen: set[str] = set()
        for entry in field.entries:
            row = entry.form
            if not row.is_kept or not row.language.data:
                continue
            if row.language.data in seen:
                row.language.errors.append("This language is already listed above.")
                raise ValidationError("A language may be listed once.")
            seen.add(row.language.data)

    def texts(self) -> ConsentTexts:
        """The submitted texts, not yet sanitised; removed and blank variants left out."""
        return ConsentTexts(
            display_name=self.display_name.data,
            short_text=self.short_text.data or "",
            full_text=self.full_text.data or "",
            translations=tuple(
                TranslationText(
                    e.form.language.data, e.form.short_text.data or "", e.form.full_text.data or ""
                )
                for e in self.translations.entries
                if e.form.is_kept
            ),
        )


class ConsentCreateForm(ConsentForm):
    """A new consent: its texts and the code name, which never changes afterwards."""

    code_name = code_name_field()
    submit = SubmitField("Create consent")


class ActionForm(FlaskForm):
    """Submit-only form: checks the CSRF token of an action button (delete)."""
