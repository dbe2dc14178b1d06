"""Streamed, formula-safe CSV export of the filtered contact list."""

import csv
import io
from collections.abc import Callable, Iterator, Sequence

from sqlalchemy import Row, Select, select

from ..audit.services import record_audit
from ..database import write_intent
from ..domain.csv_safety import safe_row
from ..extensions import db
from ..models import Contact, ContactStatus, User, utcnow
from .filters import ContactFilter, contact_conditions
from .services import EDITABLE_FIELDS, dialect_name

EXPORT_BATCH = 2000
EXPORT_COLUMNS = ("id", "guid", *EDITABLE_FIELDS, "status", "created_at", "last_activity_at")
_SELECTED = (
    Contact.id,
    Contact.guid,
    *(getattr(Contact, name) for name in EDITABLE_FIELDS),
    Contact.status_id,
    Contact.created_at,
    Contact.last_activity_at,
)


def record_export(f: ContactFilter, actor: User) -> None:
    """Write the audit entry of an export in its own short write transaction."""
    db.session.rollback()  # end the page's read transaction: this one must take the write lock
    with write_intent():
        record_audit("contact.export", actor, details={"filter": f.to_args()})
        db.session.commit()


def stream_csv(
    header: Sequence[str],
    batch_after: Callable[[int], Select],
    cells: Callable[[Row], Sequence[object]],
) -> Iterator[str]:
    """Return a generator of formula-safe CSV: the header, then one chunk per batch.

    ``batch_after(last_id)`` selects the next rows after ``last_id`` in id order, the id first,
    at most EXPORT_BATCH of them; ``cells`` turns a row into the values of a CSV line.

    The generator needs no Flask context: it reads through a connection of its own, because a
    server reads the body after the request's contexts are gone (and may do so from another
    context-variable scope). Memory stays constant: batches continue after the last id (keyset),
    and each batch ends its read transaction so a long export never holds SQLite's lock
    against writers.
    """
    engine = db.engine

    def chunks() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        last_id = 0
        with engine.connect() as connection:
            while True:
                rows = connection.execute(batch_after(last_id).limit(EXPORT_BATCH)).all()
                connection.rollback()
                writer.writerows(safe_row(cells(row)) for row in rows)
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
                if len(rows) < EXPORT_BATCH:
                    return
                last_id = rows[-1][0]

    return chunks()


def export_csv(f: ContactFilter) -> Iterator[str]:
    """Stream the CSV of the contacts the filter matches."""
    statuses = dict(db.session.execute(select(ContactStatus.id, ContactStatus.code_name)).all())
    conditions = contact_conditions(f, dialect_name(), utcnow())

    def cells(row: Row) -> list[object]:
        *values, status_id, created_at, last_activity_at = row
        return [*values, statuses.get(status_id), created_at, last_activity_at]

    return stream_csv(
        EXPORT_COLUMNS,
        lambda last_id: (
            select(*_SELECTED).where(*conditions, Contact.id > last_id).order_by(Contact.id)
        ),
        cells,
    )
