"""Read a submission from a folder someone else controls: once, without following links, and
only what post.md lists.

Everything in the inbox may come from an attacker who can still write to it while Steward reads
(a second process, an open folder, a hard link kept elsewhere). So the reader:

- works on directory file descriptors (`dir_fd`) and plain names, never on paths it would have
  to trust twice;
- opens each file with O_NOFOLLOW | O_NONBLOCK and checks, on the open descriptor, that it is
  the regular file it looked at, with a single link (a second hard link lets someone outside the
  post rewrite it later) and within the size limit;
- reads each file exactly once, into memory: the bytes that are hashed, signature-checked,
  judged and cleaned are these bytes, and `write_copy` puts these same bytes into a folder that
  Steward owns;
- refuses hidden entries, sub-folders, links and special files in a post folder, and never opens
  a file post.md does not list (it is named in `Submission.ignored`).

The submitter's folder is only ever read here, never written.
"""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

from policies.displayed_text import unsafe_character, visible
from policies.findings import Finding
from policies.submission import (
    APPROVALS_FILE,
    POST_FILE,
    MediaFile,
    Submission,
    format_finding,
    parse_submission,
    unreadable,
    with_media,
)

DEFAULT_MAX_MEDIA_BYTES = 15 * 1024 * 1024
DEFAULT_MAX_VIDEO_BYTES = 200 * 1024 * 1024  # intake.max_video_bytes' default
MAX_APPROVALS_BYTES = 64 * 1024
# Files that macOS leaves in folders on network shares; never read, never part of a post.
PLATFORM_LITTER = (".DS_Store",)
REFUSED_NOTE = "REFUSED.txt"  # the answer `steward submit` copies into a refused post's folder
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


def read_submission(path: Path, time_zone: str, max_text_bytes: int, name: str | None = None,
                    max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES,
                    max_video_bytes: int = DEFAULT_MAX_VIDEO_BYTES) -> Submission:
    """Read the submission at `path` (a post folder or a single .md file) safely."""
    path = Path(path)
    parent = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        submission = read_entry(parent, path.name, name=name or path.name, time_zone=time_zone,
                                max_text_bytes=max_text_bytes, max_media_bytes=max_media_bytes,
                                max_video_bytes=max_video_bytes)
        return replace(submission, origin=path)
    finally:
        os.close(parent)


def read_entry(parent: int, entry: str, *, name: str, time_zone: str, max_text_bytes: int,
               max_media_bytes: int, max_video_bytes: int = DEFAULT_MAX_VIDEO_BYTES
               ) -> Submission:
    """Read the entry called `entry` in the folder open as `parent`; `name` is what the post is
    called in messages (an inbox entry keeps its name while Steward works on it under another).
    Files listed under [[videos]] may be up to `max_video_bytes`, pictures up to
    `max_media_bytes` (the media-files rule checks that each is what it is listed as, so a
    picture cannot borrow the video limit). Never raises for bad input: every problem is a
    finding."""
    try:
        status = os.stat(entry, dir_fd=parent, follow_symlinks=False)
    except OSError:
        return unreadable(name, format_finding(
            f"'{name}' is not a file", f"Put the post's text in a file called {POST_FILE}."))
    if stat.S_ISLNK(status.st_mode):
        return unreadable(name, format_finding(
            f"'{name}' is a symbolic link; Steward only takes real files and folders",
            "Copy the post into the inbox instead of linking to it."))
    if stat.S_ISDIR(status.st_mode):
        try:
            folder = os.open(entry, _DIRECTORY_FLAGS, dir_fd=parent)
        except OSError as error:
            return unreadable(name, _unreadable_finding(name, error))
        try:
            return _read_folder(folder, name, time_zone, max_text_bytes, max_media_bytes,
                                max_video_bytes)
        finally:
            os.close(folder)
    if not stat.S_ISREG(status.st_mode):
        return unreadable(name, format_finding(
            f"'{name}' is not a file", f"Put the post's text in a file called {POST_FILE}."))
    found = read_file_once(parent, entry, max_text_bytes)
    if found.problem is not None:
        return unreadable(name, _post_file_finding(found, entry, max_text_bytes))
    return parse_submission(name, found.data or b"", is_folder=False, time_zone=time_zone,
                            post_file_name=entry)


def _read_folder(folder: int, name: str, time_zone: str, max_text_bytes: int,
                 max_media_bytes: int, max_video_bytes: int) -> Submission:
    post = read_file_once(folder, POST_FILE, max_text_bytes)
    if post.problem == "missing":
        return unreadable(name, format_finding(
            f"'{name}' has no {POST_FILE}",
            f"Put the post's text in a file called {POST_FILE} inside the folder."))
    if post.problem is not None:
        return unreadable(name, _post_file_finding(post, POST_FILE, max_text_bytes))
    approvals = read_file_once(folder, APPROVALS_FILE, MAX_APPROVALS_BYTES)
    problems: list[Finding] = []
    if approvals.problem not in (None, "missing"):
        problems.append(format_finding(f"{APPROVALS_FILE} is not a regular file",
                                       "Sign the post again with `steward sign`."))
    submission = parse_submission(name, post.data or b"", is_folder=True, time_zone=time_zone,
                                  approvals=approvals.data if approvals.problem is None else None)
    listed = {image.file for image in submission.images}
    videos = {image.file for image in submission.images if image.kind == "video"}
    media: dict[str, MediaFile] = {}
    for image_name in dict.fromkeys(image.file for image in submission.images):
        if not plain_file_name(image_name):
            media[image_name] = MediaFile(image_name, problem="bad-name")
            continue
        limit = max_video_bytes if image_name in videos else max_media_bytes
        media[image_name] = read_file_once(folder, image_name, limit)
    ignored: list[str] = []
    try:
        entries = sorted(os.listdir(folder))
    except OSError as error:
        return with_media(submission, media, (), (*problems, _unreadable_finding(name, error)))
    for entry in entries:
        if entry in (POST_FILE, APPROVALS_FILE) or entry in listed:
            continue
        if entry in PLATFORM_LITTER or entry.startswith("._") or entry == REFUSED_NOTE:
            continue  # macOS bookkeeping on network shares: never opened
        try:
            kind = os.stat(entry, dir_fd=folder, follow_symlinks=False).st_mode
        except OSError:
            continue  # gone meanwhile: there is nothing to take
        if entry.startswith("."):
            problems.append(format_finding(
                f"the folder holds a hidden {_kind(kind)} '{visible(entry)}'",
                "Take hidden files and folders out of the post's folder: a post folder holds "
                f"only {POST_FILE}, {APPROVALS_FILE} and the images it lists."))
        elif not stat.S_ISREG(kind):
            problems.append(format_finding(
                f"the folder holds a {_kind(kind)} '{visible(entry)}'",
                f"Take it out: a post folder holds only {POST_FILE}, {APPROVALS_FILE} and the "
                "images it lists, as plain files."))
        else:
            ignored.append(entry)
    return with_media(submission, media, tuple(ignored), tuple(problems))


def plain_file_name(name: str) -> bool:
    """Whether `name` is a plain, visible file name in the post's own folder."""
    return bool(name) and "/" not in name and "\\" not in name and not name.startswith(".") \
        and "\x00" not in name and unsafe_character(name) is None


def read_file_once(folder: int, name: str, limit: int) -> MediaFile:
    """Read the regular file `name` in `folder` (a descriptor) whole, if it is a single-linked
    regular file of at most `limit` bytes; else say why not."""
    try:
        seen = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return MediaFile(name, problem="missing")
    except OSError as error:
        return MediaFile(name, problem="unreadable", detail=error.strerror or str(error))
    problem = _problem_with(seen, limit)
    if problem is not None:
        return MediaFile(name, problem=problem, size=seen.st_size)
    try:
        descriptor = os.open(name, _OPEN_FLAGS, dir_fd=folder)
    except FileNotFoundError:
        return MediaFile(name, problem="missing")
    except OSError as error:
        return MediaFile(name, problem="unreadable", detail=error.strerror or str(error))
    try:
        opened = os.fstat(descriptor)
        if (opened.st_dev, opened.st_ino) != (seen.st_dev, seen.st_ino):
            return MediaFile(name, problem="changed", size=opened.st_size)
        problem = _problem_with(opened, limit)
        if problem is not None:
            return MediaFile(name, problem=problem, size=opened.st_size)
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(descriptor, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            return MediaFile(name, problem="too-large", size=total)
        data = b"".join(chunks)
        if os.fstat(descriptor).st_nlink != 1:
            return MediaFile(name, problem="hard-link", size=total)
        return MediaFile(name, data=data, size=total)
    except OSError as error:
        return MediaFile(name, problem="unreadable", detail=error.strerror or str(error))
    finally:
        os.close(descriptor)


def _problem_with(status: os.stat_result, limit: int) -> str | None:
    if stat.S_ISLNK(status.st_mode):
        return "link"
    if not stat.S_ISREG(status.st_mode):
        return "not-a-file"
    if status.st_nlink != 1:
        return "hard-link"
    if status.st_size > limit:
        return "too-large"
    return None


def _post_file_finding(found: MediaFile, file_name: str, limit: int) -> Finding:
    if found.problem == "too-large":
        return format_finding(
            f"{file_name} is {found.size:,} bytes, more than the {limit:,} allowed",
            f"Shorten the post; images go in their own files, not inside {file_name}.")
    if found.problem == "link":
        return format_finding(f"{file_name} is a symbolic link; Steward only takes real files",
                              "Copy the post into the inbox instead of linking to it.")
    if found.problem == "hard-link":
        return format_finding(
            f"{file_name} is a hard link to a file elsewhere, which could be changed after "
            "signing", "Copy the file (do not link it) into the post's folder.")
    if found.problem == "not-a-file":
        return format_finding(f"{file_name} is not a regular file",
                              f"Put the post's text in a plain file called {POST_FILE}.")
    if found.detail and "ermission" in found.detail:
        return _unreadable_finding(file_name, PermissionError(found.detail))
    return format_finding(f"{file_name} cannot be read ({found.detail or found.problem})",
                          "Check the file's permissions and save it again.")


UNREADABLE_FIX = ("Hand it in with `steward submit FOLDER`, which gives Steward a copy it may "
                  "read; or, copying it in yourself, let your group read it first "
                  "(chmod -R g+rX FOLDER, and chmod g+w FOLDER so that Steward may remove it "
                  "once read) and put it in the inbox again.")


def _unreadable_finding(name: str, error: OSError) -> Finding:
    if isinstance(error, PermissionError):
        return format_finding(f"Steward could not read '{name}': only its owner may read it "
                              "(it was saved with private permissions)", UNREADABLE_FIX)
    return format_finding(f"'{name}' cannot be read ({error.strerror or error})",
                          "Check the folder's permissions and put it in the inbox again.")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if stat.S_ISREG(mode):
        return "file"
    return "special file"


def write_copy(submission: Submission, parent: int, entry: str) -> None:
    """Write what the reader read (post.md, approvals.txt and the listed images, or the single
    file) as `entry` inside the folder open as `parent`, which Steward owns: new files only,
    never following links, each synced. The copy is what Steward judges, cleans and keeps."""
    if not submission.is_folder:
        write_new_file(parent, entry, submission.post_bytes)
        return
    os.mkdir(entry, 0o700, dir_fd=parent)
    folder = os.open(entry, _DIRECTORY_FLAGS, dir_fd=parent)
    try:
        write_new_file(folder, POST_FILE, submission.post_bytes)
        if submission.approvals_bytes is not None:
            write_new_file(folder, APPROVALS_FILE, submission.approvals_bytes)
        for media in submission.media.values():
            if media.problem is None and plain_file_name(media.name):
                write_new_file(folder, media.name, media.data or b"")
        os.fsync(folder)
    finally:
        os.close(folder)


def write_new_file(folder: int, name: str, data: bytes, mode: int = 0o600) -> None:
    """Create the file `name` in `folder` (a descriptor), which must not exist yet, with `data`;
    never follows a link; synced before it returns."""
    descriptor = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, mode, dir_fd=folder)
    try:
        view = memoryview(data)
        while view:
            written = os.write(descriptor, view[:1 << 20])
            view = view[written:]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
