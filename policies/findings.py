"""What a rule says about a submission: findings, the context rules run in, and the rule shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from policies.clauses import CLAUSES, Clause
from policies.consent_register import ConsentRegister
from policies.roster import Roster

# What a rule checks: a policies.submission.Submission. Rule is generic in it, rather than
# naming it, because policies.submission imports Finding from here: so neither module imports
# the other back, and each rule's Rule is still a Rule[Submission] to a type checker.
Judged = TypeVar("Judged")


@dataclass(frozen=True)
class Finding:
    """One reason a submission cannot be published, written for the person who must fix it."""

    rule: str
    clause_id: str
    problem: str
    fix: str
    audience: str = "SLT"

    @property
    def clause(self) -> Clause:
        return CLAUSES[self.clause_id]

    def explain(self) -> str:
        """Return the finding as plain English for a .rejected.txt file."""
        return (f"- {self.problem}\n  What to do: {self.fix}\n"
                f"  Rule: {self.rule}. Policy: {self.clause.citation()}")


@dataclass(frozen=True)
class ApprovalEvidence:
    """Signatures already checked by the daemon (which holds the cryptography)."""

    valid_signers: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class NameRules:
    """How strictly pupils' names are matched (see policies.roster.find_pupil_names)."""

    window: int = 3
    allow_initials: bool = True
    allow_first_names: bool = True


@dataclass(frozen=True)
class LinkRules:
    """Which links a post may carry."""

    allow_domains: tuple[str, ...] = ()   # empty: any domain not denied
    deny_domains: tuple[str, ...] = ()
    extra_shorteners: tuple[str, ...] = ()


class FaceCounter(Protocol):
    """What the faces rule asks of a face detector (policies.media.faces.FaceDetector, which
    the daemon loads: a policy reads no model file itself)."""

    def count(self, data: bytes, max_pixels: int) -> int:
        """How many faces the picture shows; ValueError if it cannot be examined."""
        ...


@dataclass(frozen=True)
class PolicyContext:
    """Everything a rule may know besides the submission itself; built by the daemon."""

    now: datetime
    time_zone: str
    enabled_platforms: tuple[str, ...]
    max_images: dict[str, int]
    max_text_length: dict[str, int]
    max_media_bytes: int
    grace_minutes: float
    approvals_required: int
    approval: ApprovalEvidence = field(default_factory=ApprovalEvidence)
    roster: Roster | None = None
    names: NameRules = field(default_factory=NameRules)
    school_contact_details: tuple[str, ...] = ()
    links: LinkRules = field(default_factory=LinkRules)
    consent: ConsentRegister | None = None
    require_pictured: bool = True
    max_image_bytes: dict[str, int] = field(default_factory=dict)
    faces: str = "refuse"  # "refuse" | "blur" | "allow"
    max_megapixels: float = 50.0
    face_detector: FaceCounter | None = None  # given by the daemon where faces are refused


@dataclass(frozen=True)
class Rule(Generic[Judged]):
    """One rule: an id, the clause it enforces, and its check of a submission."""

    id: str
    clause_id: str
    check: Callable[[Judged, PolicyContext], list[Finding]]

    def finding(self, problem: str, fix: str, audience: str = "SLT",
                clause_id: str | None = None) -> Finding:
        return Finding(self.id, clause_id or self.clause_id, problem, fix, audience)
