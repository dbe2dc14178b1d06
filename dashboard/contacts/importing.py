"""CSV import: the whole file is checked first (header, then every row, including against the
store), and only a file without problems is written, upserting by GUID or email in batches.

Each batch is one transaction, so SQLite's write lock is released between batches and the
tracking API keeps working during a long import. The rows were all checked before the first
write; a batch can still fail if someone changes the same contacts meanwhile, and then the
batches before it stay written (the report says how far it got).
"""

import base64
import binascii
import csv
import io
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import bindparam, func, insert, select, update

from ..database import write_intent
from ..domain.csv_safety import unquote_cell
from ..extensions import db
from ..groups.freshness import queue_membership_refresh, queue_membership_refresh_where
from ..models import Contact, ContactAlias, ContactStatus, User, utcnow
from ..progress import Progress, Step, no_progress
from .services import EDITABLE_FIELDS, AuditProgress, contact_label, email_in_use_message
from .validation import clean_birthday, clean_country, clean_email, clean_guid, max_length

IMPORT_BATCH = 1000
MAX_SHOWN_PROBLEMS = 200
IMPORT_COLUMNS = ("email", "guid", *(f for f in EDITABLE_FIELDS if f != "email"), "status")
# Written by the CSV export; accepted so an exported file imports again, and ignored.
IGNORED_COLUMNS = frozenset({"id", "created_at", "updated_at", "last_activity_at"})
VALUE_COLUMNS = (*EDITABLE_FIELDS, "status_id")
_CLEANERS: dict[str, Callable[[str], object]] = {
    "email": clean_email,
    "guid": clean_guid,
    "country": clean_country,
    "birthday": clean_birthday,
}

# Opens the CSV lines afresh: the file is read once to check it and once to write it.
Source = Callable[[], AbstractContextManager[Iterable[str]]]


@dataclass(frozen=True)
class Problem:
    """Why a line cannot be imported; line 1 is the header."""

    line: int
    column: str
    message: str


@dataclass
class ImportReport:
    """What a check (or an import) found: rows, creates, updates and problems."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    written: bool = False

    def add(self, problem: Problem) -> None:
        """Count a problem; keep the first few hundred to show."""
        self.problem_count += 1
        if len(self.problems) < MAX_SHOWN_PROBLEMS:
            self.problems.append(problem)

    @property
    def ok(self) -> bool:
        """No problems, and something to import."""
        return self.problem_count == 0 and self.rows > 0

    @classmethod
    def failed(cls, problem: Problem) -> "ImportReport":
        """A report of a file that could not be read at all."""
        report = cls()
        report.add(problem)
        return report


class ImportAborted(RuntimeError):
    """The store changed between the check and the write; earlier batches stay written."""


@dataclass
class _Row:
    line: int
    values: dict[str, object]
    guid: uuid.UUID | None
    email: str | None
    target_id: int | None = None  # the contact to update; None creates one


def _clean(name: str, text: str, statuses: dict[str, int]) -> object:
    if "\x00" in text:
        raise ValueError("Contains a NUL character.")
    if name == "status":
        try:
            return statuses[text.lower()]
        except KeyError:
            raise ValueError(f"Unknown status; known: {', '.join(sorted(statuses))}.") from None
    cleaner = _CLEANERS.get(name)
    if cleaner is not None:
        return cleaner(text)
    limit = max_length(name)
    if limit is not None and len(text) > limit:
        raise ValueError(f"Longer than {limit} characters.")
    return text


def _read_header(cells: list[str], report: ImportReport) -> list[str | None]:
    columns: list[str | None] = []
    for index, raw in enumerate(cells, start=1):
        name = raw.strip().lower()
        if name in IGNORED_COLUMNS:
            columns.append(None)
            continue
        if name not in IMPORT_COLUMNS:
            known = ", ".join(IMPORT_COLUMNS)
            report.add(Problem(1, name or f"column {index}", f"Unknown column; known: {known}."))
        elif name in columns:
            report.add(Problem(1, name, "Appears twice in the header."))
        columns.append(name)
    if "email" not in columns and "guid" not in columns:
        report.add(Problem(1, "", "The header needs an email or a guid column."))
    return columns


def _read_row(
    line: int,
    columns: list[str | None],
    cells: list[str],
    statuses: dict[str, int],
    report: ImportReport,
) -> _Row | None:
    if len(cells) != len(columns):
        report.add(Problem(line, "", f"Has {len(cells)} cells; the header has {len(columns)}."))
        return None
    values: dict[str, object] = {}
    valid = True
    for name, raw in zip(columns, cells, strict=True):
        text = unquote_cell(raw).strip()
        if name is None or not text:
            continue
        try:
            values["status_id" if name == "status" else name] = _clean(name, text, statuses)
        except ValueError as exc:
            report.add(Problem(line, name, str(exc)))
            valid = False
    if valid and "email" not in values and "guid" not in values:
        report.add(Problem(line, "email", "Needs an email or a guid."))
        valid = False
    if not valid:
        return None
    guid = values.pop("guid", None)
    return _Row(line, values, guid, values.get("email"))  # type: ignore[arg-type]


def _read_rows(source: Source, report: ImportReport) -> Iterator[_Row]:
    """Yield the valid rows of the file, adding every problem found to ``report``."""
    statuses = dict(db.session.execute(select(ContactStatus.code_name, ContactStatus.id)).all())
    line = 1
    with source() as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if not header:
                report.add(Problem(1, "", "The file is empty; the first line must be a header."))
                return
            columns = _read_header(header, report)
            if report.problem_count:
                return
            line = reader.line_num + 1
            for cells in reader:
                start, line = line, reader.line_num + 1
                if not any(c.strip() for c in cells):
                    continue
                report.rows += 1
                row = _read_row(start, columns, cells, statuses, report)
                if row is not None:
                    yield row
        except UnicodeDecodeError:
            report.add(Problem(line, "", "The file is not UTF-8 text from this line on."))
        except csv.Error as exc:
            report.add(Problem(line, "", f"Not valid CSV: {exc}."))


def _batched(rows: Iterator[_Row]) -> Iterator[list[_Row]]:
    batch: list[_Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == IMPORT_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class _Seen:
    """What earlier lines of the file claimed, to refuse a second claim."""

    emails: dict[str, int] = field(default_factory=dict)
    guids: dict[uuid.UUID, int] = field(default_factory=dict)
    targets: dict[int, int] = field(default_factory=dict)


def _resolve(batch: list[_Row], seen: _Seen, report: ImportReport) -> list[_Row]:
    """Find each row's contact (by GUID, else email) and keep the rows without conflicts."""
    guids = {r.guid for r in batch if r.guid is not None}
    emails = {r.email for r in batch if r.email is not None}
    by_guid = dict(
        db.session.execute(select(Contact.guid, Contact.id).where(Contact.guid.in_(guids))).all()
    )
    by_guid.update(
        db.session.execute(
            select(ContactAlias.guid, ContactAlias.contact_id).where(ContactAlias.guid.in_(guids))
        ).all()
    )
    owners = {
        r.email: r
        for r in db.session.execute(
            select(Contact.email, Contact.id, Contact.first_name, Contact.last_name).where(
                Contact.email.in_(emails)
            )
        )
    }
    resolved = []
    for row in batch:
        owner = owners.get(row.email) if row.email is not None else None
        if row.guid is not None:
            target = by_guid.get(row.guid)
        else:
            target = owner.id if owner is not None else None
        problems = []
        if owner is not None and owner.id != target:
            label = contact_label(owner.first_name, owner.last_name, None, owner.id)
            problems.append(("email", email_in_use_message(owner.id, label)))
        if row.email is not None and row.email in seen.emails:
            problems.append(("email", f"Also on line {seen.emails[row.email]}."))
        if row.guid is not None and row.guid in seen.guids:
            problems.append(("guid", f"Also on line {seen.guids[row.guid]}."))
        if target is not None and target in seen.targets:
            problems.append(("", f"Updates the same contact as line {seen.targets[target]}."))
        for column, message in problems:
            report.add(Problem(row.line, column, message))
        if row.email is not None:
            seen.emails.setdefault(row.email, row.line)
        if row.guid is not None:
            seen.guids.setdefault(row.guid, row.line)
        if target is not None:
            seen.targets.setdefault(target, row.line)
        if not problems:
            row.target_id = target
            resolved.append(row)
    return resolved


def check_import(source: Source, progress: Progress = no_progress) -> ImportReport:
    """Check the whole file without writing: header, every value, and conflicts with the store
    (an email another contact has is never merged, R10) or with earlier lines."""
    report = ImportReport()
    seen = _Seen()
    for batch in _batched(_read_rows(source, report)):
        for row in _resolve(batch, seen, report):
            if row.target_id is None:
                report.created += 1
            else:
                report.updated += 1
        progress(Step(f"checked {report.rows:,} rows", report.rows))
    db.session.rollback()  # end the read transaction before anything writes
    return report


def _write(batch: list[_Row]) -> None:
    table = Contact.__table__
    now = utcnow()
    creates = [r for r in batch if r.target_id is None]
    updates = [r for r in batch if r.target_id is not None]
    if creates:
        new_guids = [r.guid or uuid.uuid4() for r in creates]
        db.session.execute(
            insert(table),
            [
                {c: r.values.get(c) for c in VALUE_COLUMNS}
                | {"guid": g, "created_at": now, "updated_at": now}
                for r, g in zip(creates, new_guids, strict=True)
            ],
        )
        queue_membership_refresh_where(Contact.guid.in_(new_guids))
    if updates:
        # Empty cells leave a field as it is: COALESCE(new value, current value).
        stmt = (
            update(table)
            .where(table.c.id == bindparam("target_id"))
            .values(
                {
                    c: func.coalesce(bindparam(f"new_{c}", type_=table.c[c].type), table.c[c])
                    for c in VALUE_COLUMNS
                }
                | {"updated_at": bindparam("now", type_=table.c.updated_at.type)}
            )
        )
        params = [
            {"target_id": r.target_id, "now": now}
            | {f"new_{c}": r.values.get(c) for c in VALUE_COLUMNS}
            for r in updates
        ]
        db.session.execute(stmt, params)
        queue_membership_refresh(r.target_id for r in updates)  # type: ignore[misc]


def run_import(
    source: Source, actor: User | None, progress: Progress = no_progress
) -> ImportReport:
    """Check the file; if it has no problems, write it in committed batches, audited."""
    report = check_import(source, progress)
    if not report.ok:
        return report
    seen, again = _Seen(), ImportReport()
    created = updated = 0
    with write_intent():
        audit = AuditProgress("contact.import", actor, {"rows": report.rows})
        for batch in _batched(_read_rows(source, again)):
            rows = _resolve(batch, seen, again)
            if again.problem_count:
                db.session.rollback()
                first = again.problems[0]
                raise ImportAborted(
                    f"Stopped at line {first.line} ({first.message}); the {created + updated:,} "
                    "rows before it were imported."
                )
            _write(rows)
            new = sum(r.target_id is None for r in rows)
            created, updated = created + new, updated + len(rows) - new
            audit.update(created=created, updated=updated)
            db.session.commit()
            done = created + updated
            progress(Step(f"imported {done:,} of {report.rows:,} rows", done, report.rows))
    report.created, report.updated, report.written = created, updated, True
    return report


def import_outcome(report: ImportReport) -> str:
    """One sentence on what an import did (or why it wrote nothing)."""
    if not report.written:
        return f"Nothing imported: {report.problem_count:,} problem(s) found in the file."
    return (
        f"Imported {report.rows:,} rows: {report.created:,} contacts created, "
        f"{report.updated:,} updated."
    )


def text_source(text: str) -> Source:
    """A source over CSV text held in memory."""
    return lambda: io.StringIO(text)


def file_source(path: Path) -> Source:
    """A source over a UTF-8 file, decoded line by line so a bad byte is reported on its line."""

    @contextmanager
    def lines() -> Iterator[Iterator[str]]:
        with path.open("rb") as handle:
            yield (
                raw.decode("utf-8").removeprefix("\ufeff") if number == 0 else raw.decode("utf-8")
                for number, raw in enumerate(handle)
            )

    return lines


class UnreadableUpload(ValueError):
    """The uploaded bytes are not a CSV text the import can read."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def decode_upload(data: bytes) -> str:
    """The text of an uploaded file (UTF-8, with or without BOM)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnreadableUpload(
            Problem(line, "", "The file is not UTF-8 text from this line on.")
        ) from None


def pack_upload(data: bytes) -> str:
    """A compact text form of a checked upload, carried by the confirm form (no server state)."""
    return base64.urlsafe_b64encode(zlib.compress(data, 6)).decode()


def unpack_upload(token: str, limit: int) -> bytes:
    """The upload ``pack_upload`` carried; ValueError if it is damaged or larger than ``limit``."""
    try:
        packed = base64.urlsafe_b64decode(token.encode())
        inflater = zlib.decompressobj()
        data = inflater.decompress(packed, limit + 1)
    except (binascii.Error, zlib.error, UnicodeEncodeError) as exc:
        raise ValueError("damaged upload") from exc
    if len(data) > limit or inflater.unconsumed_tail or not inflater.eof:
        raise ValueError("damaged or too large upload")
    return data


@dataclass(frozen=True)
class CheckedUpload:
    """The report of a checked upload and, when it is clean, the payload to import it."""

    report: ImportReport
    payload: str | None


def check_upload(data: bytes) -> CheckedUpload:
    """Check an uploaded file without writing anything."""
    try:
        report = check_import(text_source(decode_upload(data)))
    except UnreadableUpload as exc:
        return CheckedUpload(ImportReport.failed(exc.problem), None)
    return CheckedUpload(report, pack_upload(data) if report.ok else None)


def import_upload(
    payload: str, actor: User, limit: int, progress: Progress = no_progress
) -> ImportReport:
    """Check the carried upload again (the store may have changed) and import it if clean."""
    try:
        text = decode_upload(unpack_upload(payload, limit))
    except UnreadableUpload as exc:
        return ImportReport.failed(exc.problem)
    except ValueError:
        problem = Problem(0, "", "The checked file did not come back intact; upload it again.")
        return ImportReport.failed(problem)
    return run_import(text_source(text), actor, progress)
