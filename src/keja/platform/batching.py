"""The one batch helper for bulk operations (P1.3).

Rows are processed in batches (100 by default), each batch in its own transaction. A row that
fails (validation or a database rule) is reported with its position and reason, and its batch is
retried without it, so a batch is never half-applied: either all its remaining valid rows commit
together, or none of them do. See ADR 0004 for why we retry rather than reject whole batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Generic, TypeVar

from django.db import DatabaseError, IntegrityError, transaction

from keja.kernel.errors import DomainError

R = TypeVar("R")
T = TypeVar("T")
DEFAULT_BATCH_SIZE = 100


@dataclass(frozen=True)
class RejectedRow:
    position: int  # 1-based position in the input (a CSV line number minus its header, say)
    reason: str


@dataclass
class BatchReport(Generic[R]):
    applied: int = 0
    batches: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    results: list[R] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected


def _chunks(rows: Iterable[tuple[int, T]], size: int) -> Iterator[list[tuple[int, T]]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _reason(exc: BaseException) -> str:
    if isinstance(exc, DomainError):
        return exc.detail
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]


def run_in_batches(
    rows: Iterable[T],
    apply_row: Callable[[T], R],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    validate_row: Callable[[T], None] | None = None,
    start_position: int = 1,
) -> BatchReport[R]:
    """Apply ``apply_row`` to every row, ``batch_size`` rows per transaction.

    ``validate_row`` (optional) rejects rows before any database work. When a row raises inside
    the batch's transaction, the transaction rolls back, the row is recorded as rejected, and the
    batch is retried without it (at most once per failing row)."""
    if not 1 <= batch_size <= 10_000:
        raise ValueError("batch_size must be between 1 and 10000")
    report: BatchReport[R] = BatchReport()
    numbered = ((start_position + i, row) for i, row in enumerate(rows))
    for chunk in _chunks(numbered, batch_size):
        pending: list[tuple[int, T]] = []
        for position, row in chunk:
            if validate_row is not None:
                try:
                    validate_row(row)
                except DomainError as exc:
                    report.rejected.append(RejectedRow(position, _reason(exc)))
                    continue
            pending.append((position, row))
        report.batches += 1
        _apply_batch(pending, apply_row, report)
    report.rejected.sort(key=lambda r: r.position)
    return report


def _apply_batch(
    pending: Sequence[tuple[int, T]], apply_row: Callable[[T], R], report: BatchReport[R]
) -> None:
    remaining = list(pending)
    while remaining:
        failed: tuple[int, BaseException] | None = None
        results: list[R] = []
        try:
            with transaction.atomic():
                for position, row in remaining:
                    try:
                        with transaction.atomic():  # savepoint: name the row that failed
                            results.append(apply_row(row))
                    except (DomainError, IntegrityError, DatabaseError, ValueError) as exc:
                        failed = (position, exc)
                        raise
        except (DomainError, IntegrityError, DatabaseError, ValueError):
            assert failed is not None
            report.rejected.append(RejectedRow(failed[0], _reason(failed[1])))
            remaining = [(p, r) for p, r in remaining if p != failed[0]]
            continue
        report.applied += len(remaining)
        report.results.extend(results)
        return
