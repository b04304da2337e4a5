"""The anchor as a value: a checkpoint Steward signed, as its database records it (see
daemon.audit.anchor for what the anchor is for).

It sits below both the verification, which checks that a log holds it, and daemon.audit.anchor,
which reads it, and resets it with the verification's help: so those two do not import each
other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from daemon.audit.chain import checkpoint_name


@dataclass(frozen=True)
class AuditAnchor:
    """A checkpoint Steward signed: its place in the chain, its own line's hash (`head`), the
    chain head it sealed, when it was signed, and the file it was written to."""

    seq: int
    head: str
    sealed: str
    signed_at: str
    file: str

    def describe(self) -> str:
        """How the anchor is written for people, the same in reports, alerts and errors, so
        the figures can be compared by eye: `checkpoint #1234 (hash 0a1b2c3d4e5f6a7b…)`."""
        return checkpoint_name(self.seq, self.head)

    def as_fields(self) -> dict[str, Any]:
        return {"seq": self.seq, "head": self.head, "sealed": self.sealed,
                "signed_at": self.signed_at, "file": self.file}


def anchor_of(checkpoint: dict[str, Any], file: str) -> AuditAnchor:
    """The anchor for a checkpoint entry as `AuditLog` wrote it (with its `hash`)."""
    return AuditAnchor(seq=checkpoint["seq"], head=checkpoint["hash"],
                       sealed=checkpoint["prev"], signed_at=checkpoint["timestamp"], file=file)


def anchor_from_row(row: dict[str, Any] | None) -> AuditAnchor | None:
    """The anchor from `Store.audit_anchor()`'s row, or None."""
    if not row:
        return None
    return AuditAnchor(seq=row["seq"], head=row["head"], sealed=row["sealed"],
                       signed_at=row["signed_at"], file=row["file"])
