"""No post reveals where it was made: every image must be one Steward can clean of location and
identifying metadata, losslessly (the cleaning itself happens in the intake, on a copy, and the
result is proved clean before anything is published)."""

from __future__ import annotations

import io

from policies.findings import Finding, PolicyContext, Rule
from policies.media import UncleanableMedia, clean_stream
from policies.media.cleaning import VIDEO_ADVICE
from policies.submission import Submission, readable_media


class _Discard:
    def write(self, data: bytes | bytearray) -> int:
        return len(data)


def check(submission: Submission, context: PolicyContext) -> list[Finding]:
    findings = []
    for image in submission.images:
        data = readable_media(submission, image)
        if data is None:
            continue  # missing, a link, or too large: the media-files rule says so
        try:
            clean_stream(io.BytesIO(data), _Discard())
        except UncleanableMedia as error:
            findings.append(RULE.finding(
                f"{image.kind} '{image.file}' cannot be published safely: {error}",
                VIDEO_ADVICE if image.is_video else
                "Use a JPEG or PNG export of the picture (any phone or photo app can save one)."))
    return findings


RULE = Rule("location-metadata", "st-marys.no-geolocation", check)
