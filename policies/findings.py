"""What a rule says about a submission: findings, the context rules run in, and the rule shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from policies.clauses import DEFAULT_CATALOGUE, DEFAULT_RULES, Clause, ClauseCatalogue
from policies.consent_register import ConsentRegister
from policies.roster import Roster

# What a rule checks: a policies.submission.Submission. Rule is generic in it, rather than
# naming it, because policies.submission imports Finding from here: so neither module imports
# the other back, and each rule's Rule is still a Rule[Submission] to a type checker.
Judged = TypeVar("Judged")


@dataclass(frozen=True)
class Finding:
    """One reason a submission cannot be published, written for the person who must fix it.

    `rule` is the rule that found it; `cites` the rule whose clause it cites when that is
    another (the approval rule cites `second-reader` for a missing second signature).
    `clause_id` is the rule's default clause until the finding is cited in the school's
    catalogue (`cited_in`, which the pipeline does): then it is the school's clause, and
    `cited` that clause itself.
    """

    rule: str
    clause_id: str
    problem: str
    fix: str
    audience: str = "SLT"
    cites: str = ""
    cited: Clause | None = None

    @property
    def clause(self) -> Clause:
        """The clause this finding cites: the school's once cited, else Steward's default."""
        if self.cited is not None:
            return self.cited
        return DEFAULT_CATALOGUE.clauses[self.clause_id]

    def cited_in(self, catalogue: ClauseCatalogue) -> Finding:
        """This finding citing the school's clause for its rule. A rule the catalogue does not
        know keeps the clause it has, the school's if the catalogue holds that id."""
        rule = self.cites or self.rule
        clause_id = catalogue.rules.get(rule, self.clause_id)
        clause = catalogue.clauses.get(clause_id)
        if clause is None:
            return self
        return replace(self, clause_id=clause_id, cited=clause)

    def explain(self) -> str:
        """Return the finding as plain English for a .rejected.txt file."""
        return (f"- {self.problem}\n  What to do: {self.fix}\n"
                f"  Rule: {self.rule}. Policy: {self.clause.citation()}")


@dataclass(frozen=True)
class ApprovalEvidence:
    """Signatures already checked by the daemon (which holds the cryptography)."""

    valid_signers: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()  # signatures that neither count nor refuse: warnings


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


class VideoFaceCounter(Protocol):
    """What the faces rule asks of a video face detector (the daemon's, which samples frames
    with PyAV and runs the picture detector on each: daemon.posts.video_frames)."""

    def count(self, data: bytes, max_pixels: int) -> int:
        """The most faces any sampled frame of the video shows; ValueError if it cannot be
        examined (a codec that cannot be decoded, a damaged file, too long)."""
        ...


@dataclass(frozen=True)
class VideoFit:
    """What one platform takes in the way of video, from its connector's capabilities:
    how many in a post (0: none yet), whether beside photos, how large a file, and the
    platform's name as people say it."""

    name: str
    max_videos: int = 0
    with_images: bool = False
    max_bytes: int = 0


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
    # `steward check` by an SLT member, who may not read the roster or the consent register:
    # pupils' names and consent are checked by the daemon after submission, not refused here.
    pupils_checked_later: bool = False
    require_pictured: bool = True
    max_image_bytes: dict[str, int] = field(default_factory=dict)
    faces: str = "refuse"  # "refuse" | "blur" | "allow"
    max_megapixels: float = 50.0
    face_detector: FaceCounter | None = None  # given by the daemon where faces are refused
    video_face_detector: VideoFaceCounter | None = None  # likewise, for videos
    max_video_bytes: int = 200 * 1024 * 1024  # intake.max_video_bytes
    video_fit: dict[str, VideoFit] = field(default_factory=dict)  # by platform
    clauses: ClauseCatalogue = DEFAULT_CATALOGUE  # the school's policy, which findings cite


@dataclass(frozen=True)
class Rule(Generic[Judged]):
    """One rule: an id, the clause it cites by default (`policies.clauses.DEFAULT_RULES`
    holds the same pair, for the configuration), and its check of a submission."""

    id: str
    clause_id: str
    check: Callable[[Judged, PolicyContext], list[Finding]]

    def finding(self, problem: str, fix: str, audience: str = "SLT",
                cites: str | None = None) -> Finding:
        """A finding of this rule; `cites` names another rule whose clause it cites instead
        (a rule id of `policies.clauses.DEFAULT_RULES`)."""
        clause_id = DEFAULT_RULES[cites] if cites else self.clause_id
        return Finding(self.id, clause_id, problem, fix, audience, cites or "")
