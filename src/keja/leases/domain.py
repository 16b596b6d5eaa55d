"""Pure lease rules: state transitions and date-range overlap (D4)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from keja.kernel.errors import Conflict, ValidationFailed

__all__ = ["LEASE_TRANSITIONS", "check_lease_transition", "ranges_overlap"]


LEASE_TRANSITIONS: Mapping[str, frozenset[str]] = {
    "draft": frozenset({"active", "terminated"}),
    "active": frozenset({"ended", "terminated"}),
    "ended": frozenset(),
    "terminated": frozenset(),
}


def check_lease_transition(current: str, new: str) -> None:
    """Raise ``Conflict`` unless a lease may move from ``current`` to ``new``.

    Unknown status names raise ``ValidationFailed(field="status")``.
    """
    for name in (current, new):
        if name not in LEASE_TRANSITIONS:
            raise ValidationFailed(f"Unknown lease status {name!r}.", field="status")
    allowed = LEASE_TRANSITIONS[current]
    if new not in allowed:
        options = ", ".join(sorted(allowed)) if allowed else "none: it is a final state"
        raise Conflict(
            f"A lease cannot go from {current!r} to {new!r} (allowed from {current!r}: {options}).",
            field="status",
            code="invalid_lease_transition",
        )


def ranges_overlap(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    """Whether two date ranges share a day. Ends are inclusive; ``None`` means open-ended.
    An empty range (end before start) overlaps nothing."""
    if (a_end is not None and a_end < a_start) or (b_end is not None and b_end < b_start):
        return False
    a_before_b_ends = b_end is None or a_start <= b_end
    b_before_a_ends = a_end is None or b_start <= a_end
    return a_before_b_ends and b_before_a_ends
