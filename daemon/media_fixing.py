"""The intake's fixer for pictures: write a cleaned copy of every image, prove it clean, and
describe it for the publisher. The originals stay as SLT signed them; only the copies are sent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from daemon.audit import AuditLog
from policies.media import clean_file
from policies.media_files import sniff_image_type
from policies.submission import ImageRef, file_sha256

CLEAN_FOLDER = ".steward-clean"
CLAUSE = "st-marys.no-geolocation"


def clean_images(folder: Path, images: tuple[ImageRef, ...], audit: AuditLog,
                 submission_id: str) -> list[dict]:
    """Clean each image of `folder` into `folder/.steward-clean/`; return media descriptions.

    Raise UncleanableMedia if any image cannot be cleaned and proved clean.
    """
    if not images:
        return []
    target_folder = folder / CLEAN_FOLDER
    target_folder.mkdir(exist_ok=True)
    media = []
    for image in images:
        source = folder / image.file
        target = target_folder / image.file
        try:
            report = clean_file(source, target)
        except BaseException:
            shutil.rmtree(target_folder, ignore_errors=True)  # leave the submission as it came
            raise
        with open(target, "rb") as handle:
            mime = sniff_image_type(handle.read(16))
        cleaned_sha256 = file_sha256(target)
        audit.record("media.cleaned", clause=CLAUSE, submission=submission_id, file=image.file,
                     format=report.format, removed=list(report.removed),
                     orientation_kept=report.orientation, original_sha256=file_sha256(source),
                     cleaned_sha256=cleaned_sha256, bytes_removed=report.bytes_in - report.bytes_out)
        media.append({"file": f"{CLEAN_FOLDER}/{image.file}", "alt": image.alt, "mime": mime,
                      "sha256": cleaned_sha256})
    return media
