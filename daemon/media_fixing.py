"""The intake's fixer for pictures: write a cleaned copy of every image, prove it clean, and
describe it for the publisher. The originals stay as SLT signed them; only the copies are sent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from daemon.audit import AuditLog
from policies.media import UncleanableMedia, clean_file
from policies.media_files import sniff_image_type
from policies.submission import ImageRef, file_sha256

CLEAN_FOLDER = ".steward-clean"
CLAUSE = "st-marys.no-geolocation"
FACES_CLAUSE = "st-marys.no-faces"


def clean_images(folder: Path, images: tuple[ImageRef, ...], audit: AuditLog,
                 submission_id: str, blur: bool = False) -> list[dict]:
    """Clean each image of `folder` into `folder/.steward-clean/` (blurring faces first when
    `blur`); return media descriptions.

    Raise UncleanableMedia if any image cannot be cleaned and proved clean, or if a face is
    still found after blurring.
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
            if blur:
                from policies.media.faces import blur_faces, count_faces  # noqa: PLC0415
            if blur and count_faces(source):
                blurred = target_folder / f".blurred-{image.file}"
                faces = blur_faces(source, blurred)
                if count_faces(blurred):
                    raise UncleanableMedia("a face could still be recognised after blurring; "
                                           "use a photo without identifiable faces")
                audit.record("media.faces_blurred", clause=FACES_CLAUSE,
                             submission=submission_id, file=image.file, faces=faces)
                report = clean_file(blurred, target)
                blurred.unlink()
            else:
                report = clean_file(source, target)
        except ValueError as error:  # the picture could not be decoded for face detection
            shutil.rmtree(target_folder, ignore_errors=True)
            raise UncleanableMedia(str(error)) from None
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
