"""No identifiable faces, where the school's policy says so: per configuration, photos with
detectable faces are refused, blurred (the intake does it, then checks again), or allowed.
Pictures too large to examine safely are refused before anything decodes them, and nothing is
decoded for a post without its approvals. The detector comes in the context (the daemon loads
OpenCV's; see daemon.posts.face_detection). Findings give the number of faces, never where or
whose."""

from __future__ import annotations

import io

from policies.approval import approved
from policies.displayed_text import visible
from policies.findings import Finding, PolicyContext, Rule
from policies.media import UncleanableMedia, clean_stream
from policies.media_files import sniff_video_type
from policies.submission import Submission, readable_media


class _Discard:
    def write(self, data: bytes | bytearray) -> int:
        return len(data)


def check(submission: Submission, context: PolicyContext) -> list[Finding]:
    findings = []
    for number, image in enumerate(submission.images, start=1):
        data = readable_media(submission, image)
        if data is None:
            continue
        if image.is_video:
            findings += _video(image.file, data, context)
            continue
        try:
            report = clean_stream(io.BytesIO(data), _Discard())
        except UncleanableMedia:
            continue  # the location rule says why
        if report.megapixels > context.max_megapixels:
            findings.append(RULE.finding(
                f"image {number} is {report.megapixels:,.0f} megapixels; Steward examines "
                f"pictures up to {context.max_megapixels:g}", "Export a smaller version (12 "
                "megapixels is plenty for social media).", cites="picture-size"))
            continue
        if context.faces != "refuse":
            continue  # "blur": the intake blurs them; "allow": the school permits faces
        if not approved(context):
            continue  # nothing is decoded for a post nobody has approved: the approval rule
            # refuses it, and the faces are looked at once it is signed
        if context.face_detector is None:  # the daemon gives one when faces are refused
            findings.append(RULE.finding(
                f"image {number} cannot be examined for faces: Steward's face detector was not "
                "loaded", "Tell the administrator: Steward could not load its face detector, so "
                "photos cannot be checked for faces until it does.", audience="admin"))
            continue
        try:
            faces = context.face_detector.count(data, int(context.max_megapixels * 1_000_000))
        except ValueError as error:  # the detector's reason says what to do
            findings.append(RULE.finding(f"image {number} cannot be examined for faces: {error}",
                                         "Export the picture again as JPEG or PNG."))
            continue
        if faces:
            findings.append(RULE.finding(
                f"image {number} appears to show {faces} face{'s' if faces > 1 else ''}",
                "Use a photo in which no one can be recognised by face (from behind, at a "
                "distance, hands at work), or ask the administrator whether faces should be "
                "blurred instead (faces.policy = \"blur\")."))
    return findings


def _video(name: str, data: bytes, context: PolicyContext) -> list[Finding]:
    """A video: its sampled frames (the daemon's detector decodes them) must show no face
    where faces are refused or blurred. Steward cannot blur a video, so "blur" refuses one
    with faces; one that cannot be decoded is refused, never published unexamined."""
    if context.faces == "allow" or not approved(context):
        return []  # as for photos: nothing is decoded before the post is approved
    if sniff_video_type(data[:16]) is None:
        return []  # not a video at all: the media-files rule says so, and nothing is decoded
    shown = visible(name)
    if context.video_face_detector is None:
        return [RULE.finding(
            f"video '{shown}' cannot be examined for faces: Steward's video face detector was "
            "not loaded", "Tell the administrator: Steward could not load its video decoder or "
            "face detector, so videos cannot be checked for faces until it does.",
            audience="admin")]
    try:
        faces = context.video_face_detector.count(data, int(context.max_megapixels * 1_000_000))
    except ValueError as error:  # the detector's reason says what to do
        return [RULE.finding(f"video '{shown}' cannot be examined for faces, so it was not "
                             f"published: {error}",
                             "Export the video again as an H.264 MP4 (on an iPhone: Settings > "
                             "Camera > Formats > Most Compatible), sign the post again and hand "
                             "it in again.")]
    if not faces:
        return []
    return [RULE.finding(
        f"video '{shown}' appears to show {faces} face{'s' if faces > 1 else ''} in at least "
        "one frame", "Use a video in which no one can be recognised by face (from behind, at a "
        "distance, hands at work): Steward cannot blur faces in videos.")]


RULE = Rule("faces", "st-marys.no-faces", check)
