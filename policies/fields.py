"""The parts of a submission that reach the public: each platform's text, each image's alt text
and file name. Rules that look for names or personal data look at all of them."""

from __future__ import annotations

from collections.abc import Iterator

from policies.findings import PolicyContext
from policies.platforms import target_platforms
from policies.submission import Submission


def public_fields(submission: Submission, context: PolicyContext) -> Iterator[tuple[str, str]]:
    """Yield (description, text) for every public field, each distinct text once."""
    seen: set[str] = set()
    for platform in target_platforms(submission, context):
        text = submission.text_for(platform)
        if text and text not in seen:
            seen.add(text)
            label = "the text" if not submission.platform_text else f"the text for {platform}"
            yield label, text
    for number, image in enumerate(submission.images, start=1):
        yield f"the alt text of image {number}", image.alt
        stem = image.file.rsplit(".", 1)[0]
        yield f"the file name of image {number}", stem.replace("-", " ").replace("_", " ")
