"""How far a long operation (import, group recalculation, purge) has got, for every process."""

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class OperationProgress(db.Model):
    """One run of a long operation, updated as its batches commit and polled by the page that
    started it (or shows its subject). Readable by users holding ``permission``."""

    key: Mapped[str] = mapped_column(String(36), primary_key=True)  # a random UUID
    kind: Mapped[str] = mapped_column(String(30))  # "import", "recalculation", "purge"
    subject: Mapped[str | None] = mapped_column(String(64))  # e.g. the group's id
    permission: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10), default="running")  # running/finished/failed
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int | None]
    message: Mapped[str] = mapped_column(String(300), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_operation_progress_subject", "kind", "subject", "started_at"),)
