"""Assess a submission in one pass: check its approvals, prepare its pictures (clean location,
blur faces where configured), then run every policy once, on the prepared pictures.

Used by the intake and by `steward check`, so a draft checked by hand is judged exactly as the
daemon will judge it. Nothing here reads the inbox: the submission's bytes were read once by
`daemon.posts.reading`, and everything below works on those bytes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from config.settings import StewardSettings
from connectors.facebook import FacebookPageConnector
from connectors.instagram import InstagramConnector
from connectors.x import XConnector
from daemon.posts.approval import verify_approvals
from daemon.posts.media_fixing import CleanedImage, prepare_media
from daemon.posts.reading import read_submission
from daemon.posts.rosters import load_consent, load_roster, roster_path
from policies.approval import approved
from policies.consent_register import ConsentRegister
from policies.displayed_text import visible
from policies.findings import (
    FaceCounter,
    Finding,
    LinkRules,
    NameRules,
    PolicyContext,
    VideoFaceCounter,
    VideoFit,
)
from policies.pipeline import evaluate
from policies.platforms import target_platforms
from policies.roster import Roster, RosterError
from policies.submission import Submission

CAPABILITIES = {"x": XConnector.capabilities, "facebook": FacebookPageConnector.capabilities}
# What each platform's connector declares it takes in the way of video (Instagram's too, so
# that a video meant for it is refused by what its connector says, like any other).
VIDEO_FIT = {connector.platform: VideoFit(connector.brand,
                                          connector.capabilities.max_videos_per_post,
                                          connector.capabilities.videos_with_images,
                                          connector.capabilities.max_video_bytes)
             for connector in (XConnector, FacebookPageConnector, InstagramConnector)}


@dataclass(frozen=True)
class Assessment:
    submission: Submission
    findings: list[Finding]
    signers: tuple[str, ...]
    platforms: tuple[str, ...]
    notes: tuple[str, ...] = ()
    context: PolicyContext | None = None
    # Shown by `check` and `submit` and audited by the intake, but no reason to refuse: a file
    # in the folder that post.md does not list (it is not read, so it cannot be published).
    warnings: tuple[str, ...] = ()
    images: tuple[CleanedImage, ...] = ()  # the cleaned pictures, as they will be published
    # what the faces rule looked at in each video, by the cleaned video's SHA-256 (frames,
    # seconds, faces): the intake audits it
    videos_examined: dict[str, object] | None = None

    @property
    def accepted(self) -> bool:
        return not self.findings


SERVER_CHECKS_NOTE = ("Pupils' names and photo consent are checked by Steward on the server "
                      "after submission (the roster and the consent register are not readable "
                      "here); its answer comes back to you.")


def assess(path: Path, settings: StewardSettings, now: datetime,
           name: str | None = None, *, pupils_on_server: bool = False) -> Assessment:
    """Read the submission at `path` and judge it as of `now`; never raises for bad input.
    `pupils_on_server`: the caller (an SLT member, from the SLT view) may not read the roster
    or the consent register; every other rule runs, and those checks are left to the daemon."""
    submission = read_submission(path, settings.school.time_zone, settings.intake.max_text_bytes,
                                 name=name, max_media_bytes=settings.intake.max_media_bytes,
                                 max_video_bytes=settings.intake.max_video_bytes)
    return assess_submission(submission, settings, now, pupils_on_server=pupils_on_server)


def assess_submission(submission: Submission, settings: StewardSettings,
                      now: datetime, *, pupils_on_server: bool = False) -> Assessment:
    """Judge a submission already read, as of `now`; never raises for bad input."""
    signers = {signer.name: signer.public_key for signer in settings.approval.signers}
    evidence = verify_approvals(submission, signers)
    notes: list[str] = []
    roster_problem: list[Finding] = []
    if pupils_on_server:
        roster, consent = None, None
        notes.append(SERVER_CHECKS_NOTE)
    else:
        roster, consent = _roster_and_consent(settings, notes, roster_problem)
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
        pupils_checked_later=pupils_on_server,
        require_pictured=settings.consent.require_pictured,
        faces=settings.faces.policy,
        max_megapixels=settings.faces.max_megapixels,
        clauses=settings.policy.catalogue(),
        max_video_bytes=settings.intake.max_video_bytes,
        video_fit=dict(VIDEO_FIT),
    )
    if settings.faces.policy != "allow" and submission.images and approved(context):
        context = replace(context, face_detector=_face_detector(notes))
    if settings.faces.policy != "allow" and approved(context) and \
            any(image.is_video for image in submission.images):
        context = replace(context, video_face_detector=_video_face_detector(
            notes, settings.faces.max_video_seconds))
    blur = settings.faces.policy == "blur"
    prepared = prepare_media(submission, blur=blur, may_decode=approved(context),
                             max_pixels=int(settings.faces.max_megapixels * 1_000_000))
    if blur:  # the blurred copies must show no face at all
        context = replace(context, faces="refuse")
    warnings: list[str] = list(evidence.ignored)
    if submission.ignored:
        warnings.append(f"{len(submission.ignored)} file(s) in the folder are not listed in "
                        "post.md, so they will NOT be published (not read, not kept): "
                        + ", ".join(visible(name) for name in submission.ignored)
                        + ". To publish one, add it to images in post.md and sign again.")
    findings = evaluate(prepared.submission, context) + roster_problem
    if not findings and len(prepared.images) != len(submission.images):
        findings.append(Finding(
            "location-metadata", "st-marys.no-geolocation",
            "a picture could not be prepared for publishing",
            "Use a JPEG or PNG export of the picture (any phone or photo app can save one)."))
    findings = [finding.cited_in(context.clauses) for finding in findings]
    examined = getattr(context.video_face_detector, "examined", None)
    return Assessment(submission, findings, evidence.valid_signers,
                      target_platforms(submission, context), tuple(notes), context,
                      images=prepared.images, warnings=tuple(warnings),
                      videos_examined=dict(examined) if examined else None)


def _roster_and_consent(settings: StewardSettings, notes: list[str],
                        problems: list[Finding]) -> tuple[Roster | None, ConsentRegister | None]:
    """The roster and the consent register (None where there is none, with a note, or where
    one cannot be read, with a finding for the administrator in `problems`)."""
    try:
        roster = load_roster(settings)
    except RosterError as error:
        roster = None
        problems.append(Finding(
            "pupil-names", "st-marys.no-full-names",
            f"the pupil roster cannot be read, so pupils' names cannot be checked: {error}",
            "Tell the administrator: the roster file must be fixed before posts can go out.",
            audience="admin"))
    if roster is None and not problems:
        notes.append(f"No pupil roster at {roster_path(settings)}: pupils' names were NOT "
                     "checked.")
    try:
        consent = load_consent(settings)
    except RosterError as error:
        consent = None
        problems.append(Finding(
            "photo-consent", "st-marys.photo-consent",
            f"the photo consent register cannot be read: {error}",
            "Tell the administrator: the register must be fixed before photos of pupils can go "
            "out.", audience="admin"))
    return roster, consent


def _face_detector(notes: list[str]) -> FaceCounter | None:
    """OpenCV's face detector, loaded on first use (it costs 30 MB); None, with the reason in
    `notes`, if it cannot be loaded (the faces rule then refuses the pictures, for the
    administrator)."""
    from daemon.posts.face_detection import DetectorUnavailable, face_detector  # noqa: PLC0415

    try:
        return face_detector()
    except DetectorUnavailable as error:
        notes.append(str(error))
        return None


def _video_face_detector(notes: list[str], max_seconds: float) -> VideoFaceCounter | None:
    """PyAV's decoders around the photo detector (daemon.posts.video_frames), loaded on first
    use; None, with the reason in `notes`, if either cannot be loaded (the faces rule then
    refuses the video, for the administrator)."""
    from daemon.posts.face_detection import DetectorUnavailable  # noqa: PLC0415

    try:
        from daemon.posts.video_frames import video_face_detector  # noqa: PLC0415

        return video_face_detector(max_seconds)
    except (DetectorUnavailable, ImportError) as error:
        notes.append(f"videos cannot be examined for faces: {error}")
        return None


def approval_problem_now(path: Path, name: str, settings: StewardSettings) -> str | None:
    """Check the approvals of an accepted post (Steward's own copy at `path`) against the
    signers configured now; return why they no longer suffice, or None if they do.

    A signer removed from the configuration (or given a new key) since the post was accepted
    no longer vouches for it: their signature stops counting at once, not only for new posts.
    """
    submission = read_submission(path, settings.school.time_zone, settings.intake.max_text_bytes,
                                 name=name, max_media_bytes=settings.intake.max_media_bytes,
                                 max_video_bytes=settings.intake.max_video_bytes)
    signers = {signer.name: signer.public_key for signer in settings.approval.signers}
    evidence = verify_approvals(submission, signers)
    have = len(set(evidence.valid_signers))
    need = settings.approval.approvals_required
    if have >= need:
        return None
    return (f"its approvals no longer suffice: {have} of the {need} needed still come from "
            "configured SLT signers (a signer was removed or given a new key since it was "
            "accepted)")
