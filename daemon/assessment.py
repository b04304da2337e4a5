"""Assess a submission: read it, check its approvals, run every policy. Used by the intake and
by `steward check`, so a draft checked by hand is judged exactly as the daemon will judge it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from config.settings import StewardSettings
from connectors.facebook import FacebookPageConnector
from connectors.x import XConnector
from daemon.approval import verify_approvals
from daemon.rosters import load_consent, load_roster, roster_path
from policies.findings import Finding, LinkRules, NameRules, PolicyContext
from policies.pipeline import evaluate
from policies.platforms import target_platforms
from policies.roster import RosterError
from policies.submission import Submission, read_submission

CAPABILITIES = {"x": XConnector.capabilities, "facebook": FacebookPageConnector.capabilities}


@dataclass(frozen=True)
class Assessment:
    submission: Submission
    findings: list[Finding]
    signers: tuple[str, ...]
    platforms: tuple[str, ...]
    notes: tuple[str, ...] = ()
    context: PolicyContext | None = None

    @property
    def accepted(self) -> bool:
        return not self.findings


def assess(path: Path, settings: StewardSettings, now: datetime,
           name: str | None = None) -> Assessment:
    """Judge the submission at `path` as of `now`; never raises for bad input."""
    submission = read_submission(path, settings.school.time_zone, settings.intake.max_text_bytes,
                                 name=name)
    signers = {signer.name: signer.public_key for signer in settings.approval.signers}
    evidence = verify_approvals(submission, signers, settings.intake.max_media_bytes)
    notes: list[str] = []
    roster_problem: list[Finding] = []
    try:
        roster = load_roster(settings)
    except RosterError as error:
        roster = None
        roster_problem.append(Finding(
            "pupil-names", "st-marys.no-full-names",
            f"the pupil roster cannot be read, so pupils' names cannot be checked: {error}",
            "Tell the administrator: the roster file must be fixed before posts can go out.",
            audience="admin"))
    if roster is None and not roster_problem:
        notes.append(f"No pupil roster at {roster_path(settings)}: pupils' names were NOT "
                     "checked.")
    try:
        consent = load_consent(settings)
    except RosterError as error:
        consent = None
        roster_problem.append(Finding(
            "photo-consent", "st-marys.photo-consent",
            f"the photo consent register cannot be read: {error}",
            "Tell the administrator: the register must be fixed before photos of pupils can go "
            "out.", audience="admin"))
    context = PolicyContext(
        now=now,
        time_zone=settings.school.time_zone,
        enabled_platforms=tuple(settings.enabled_platforms()),
        max_images={name: c.max_images_per_post for name, c in CAPABILITIES.items()},
        max_text_length={name: c.max_text_length for name, c in CAPABILITIES.items()},
        max_image_bytes={name: c.max_image_bytes for name, c in CAPABILITIES.items()},
        max_media_bytes=settings.intake.max_media_bytes,
        grace_minutes=settings.publishing.grace_minutes,
        approvals_required=settings.approval.approvals_required,
        approval=evidence,
        roster=roster,
        names=NameRules(settings.pupils.words_between,
                        settings.pupils.allow_first_name_and_initial,
                        settings.pupils.allow_first_names),
        school_contact_details=tuple(settings.personal_data.school_contact_details),
        links=LinkRules(tuple(settings.links.allow_domains), tuple(settings.links.deny_domains),
                        tuple(settings.links.extra_shorteners)),
        consent=consent,
        require_pictured=settings.consent.require_pictured,
        faces=settings.faces.policy,
        max_megapixels=settings.faces.max_megapixels,
    )
    findings = evaluate(submission, context) + roster_problem
    return Assessment(submission, findings, evidence.valid_signers,
                      target_platforms(submission, context), tuple(notes), context)
