"""No photo of a child without written consent, and never a child on the restricted list.

A post with images or a video must say who is pictured, in the photos and the video alike
(`pictured = [...]`, or `pictured = []` when no pupil can be identified); every pupil listed
must be in the consent register with photo consent and must not be on the restricted list.
Findings number the pupils as listed, never name them.
"""

from __future__ import annotations

from policies.findings import Finding, PolicyContext, Rule
from policies.submission import Submission


def _ordinal(number: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10 if number % 100 not in (11, 12, 13)
                                             else 0, "th")
    return f"{number}{suffix}"


def check(submission: Submission, context: PolicyContext) -> list[Finding]:
    if not submission.images:
        return []
    if submission.pictured is None:
        if not context.require_pictured:
            return []
        return [RULE.finding(
            f"the post has {_media_words(submission)} but does not say which pupils are "
            "pictured", 'Add pictured = ["First Surname", ...] to the settings, or pictured = [] '
            "if no pupil can be identified in any photo or video.")]
    if submission.pictured and context.consent is None:
        if context.pupils_checked_later:
            return []
        return [RULE.finding(
            "pupils are pictured but there is no consent register to check them against",
            "Ask the administrator to install the consent register, or use photos without "
            "identifiable pupils.", audience="admin")]
    consent = context.consent
    if consent is None:  # so nobody is pictured (above): there is no one to look up
        return []
    findings = []
    for number, pupil in enumerate(submission.pictured, start=1):
        entry = consent.lookup(pupil)
        which = f"the {_ordinal(number)} pupil listed under pictured"
        if entry is None:
            findings.append(RULE.finding(
                f"{which} is not in the consent register",
                "Check the spelling against the register, or leave that pupil out of the photos."))
        elif entry.restricted:
            findings.append(RULE.finding(
                f"{which} is on the restricted list and must never be shown",
                "Remove every photo in which that pupil appears.",
                cites="restricted-list"))
        elif not entry.photo_consent:
            findings.append(RULE.finding(
                f"{which} has no photo consent",
                "Remove the photos that show that pupil, or ask the office to record consent."))
    return findings


def _media_words(submission: Submission) -> str:
    """'photos', 'a video', or 'photos and a video': what the post carries."""
    videos = sum(image.is_video for image in submission.images)
    photos = len(submission.images) - videos
    words = (["photos"] if photos else []) + (
        ["a video" if videos == 1 else "videos"] if videos else [])
    return " and ".join(words)


RULE = Rule("photo-consent", "st-marys.photo-consent", check)
