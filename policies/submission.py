"""Parse a submission (a folder with post.md, or a single .md file) into a `Submission`.

The format, in full:

    +++
    publish_at = 2026-11-23T09:00:00          # school time zone unless an offset is given
    platforms = ["x", "facebook"]             # optional: default every enabled platform
    [[images]]
    file = "sports-day.jpg"
    alt = "Year 4 relay runners crossing the line"
    [[videos]]                                # an MP4 or MOV, where the platforms take one
    file = "relay.mp4"
    alt = "The relay's last lap"
    pictured = []                             # pupils in the photos (private); [] = nobody
    [text]                                    # optional: a different text per platform
    x = "A shorter text for X"
    +++
    The text of the post.

Approvals live in `approvals.txt` beside post.md (one JSON object per line), or, for a single
file, after a line `+++ approvals` (the signed bytes are everything before that line).

This module is pure: it works on bytes that the daemon's reader (`daemon.posts.reading`)
has already read, once, from the inbox. Every rule, every hash and every signature check then
sees those same bytes, so nothing can be swapped between being checked and being used.
Parsing never raises on bad input: every problem becomes a `Finding` in `Submission.problems`,
so a malformed post is refused with reasons rather than crashing the daemon.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from policies.displayed_text import unsafe_character, visible
from policies.findings import Finding

POST_FILE = "post.md"
APPROVALS_FILE = "approvals.txt"
APPROVALS_MARKER = b"+++ approvals\n"  # a line of its own, after the signed text
FRONT_MATTER_KEYS = ("publish_at", "platforms", "images", "videos", "text", "pictured")
# A request about an earlier post instead of a post (`steward cancel`, `steward unpublish`):
# signed like a post, with one of these and nothing else in its front matter.
REQUEST_KEYS = ("cancel", "unpublish")
MAX_REQUEST_TARGET = 120
IMAGE_KEYS = ("file", "alt")
RULE = "submission-format"
CLAUSE = "steward.format"


@dataclass(frozen=True)
class ImageRef:
    """A picture or video named in the front matter: its file name inside the submission, its
    alt text, and the list it was named in ("image" for [[images]], "video" for [[videos]]).
    Videos follow the pictures in `Submission.images`, so every rule about media (hashes,
    location, faces, consent) sees both."""

    file: str
    alt: str
    kind: str = "image"

    @property
    def is_video(self) -> bool:
        return self.kind == "video"


@dataclass(frozen=True)
class MediaFile:
    """An image file as the reader found it: its bytes, or why they could not be used.

    `problem` is None when `data` holds the whole file, else one of: "bad-name", "missing",
    "link", "hard-link", "not-a-file", "too-large", "unreadable", "changed" (with `detail`).
    """

    name: str
    data: bytes | None = field(default=None, repr=False)
    problem: str | None = None
    size: int = 0
    detail: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data or b"").hexdigest()


@dataclass(frozen=True)
class ApprovalRecord:
    """One approval signature as found in the submission (not yet verified)."""

    signer: str
    signature: str


@dataclass(frozen=True)
class Submission:
    """A submission as read: what it asks for, the bytes of its images, and what was wrong."""

    name: str
    is_folder: bool = False
    post_file_name: str = POST_FILE
    origin: Path | None = None  # where the reader read it (for `steward sign`), never re-read
    post_bytes: bytes = field(default=b"", repr=False)  # post.md (or the single file) as read
    signed_bytes: bytes = field(default=b"", repr=False)
    text: str = ""
    platform_text: dict[str, str] = field(default_factory=dict)
    platforms: tuple[str, ...] | None = None
    publish_at: datetime | None = None
    publish_at_written: str = ""
    images: tuple[ImageRef, ...] = ()
    pictured: tuple[str, ...] | None = None  # pupils in the photos; () = nobody; None = not said
    approvals: tuple[ApprovalRecord, ...] = ()
    approvals_bytes: bytes | None = None  # approvals.txt as read (folder posts)
    media: dict[str, MediaFile] = field(default_factory=dict, repr=False)
    ignored: tuple[str, ...] = ()  # files in the folder that post.md does not list: not read
    problems: tuple[Finding, ...] = ()
    parsed: bool = False  # its front matter was read: the rules have something to judge
    request: tuple[str, str] | None = None  # ("cancel" or "unpublish", the post's id or name)

    def text_for(self, platform: str) -> str:
        """The text to publish on `platform`: its own text if given, else the body."""
        return self.platform_text.get(platform, self.text)

    def media_for(self, image: ImageRef) -> MediaFile:
        """What the reader found for `image` (a "missing" record if it read nothing)."""
        return self.media.get(image.file, MediaFile(image.file, problem="missing"))

    def content_sha256(self) -> str:
        """A hash of the signed post and its images: the same submission twice has the same one.

        Images that could not be read whole are left out (they are refused anyway).
        """
        digest = hashlib.sha256(self.signed_bytes)
        for image in self.images:
            digest.update(image.file.encode("utf-8"))
            data = readable_media(self, image)
            if data is not None:
                digest.update(hashlib.sha256(data).hexdigest().encode("ascii"))
        return digest.hexdigest()


def readable_media(submission: Submission, image: ImageRef) -> bytes | None:
    """The image's bytes if the reader read it whole (a plain file inside the submission,
    within the size limit); None otherwise (the media-files rule says why)."""
    found = submission.media_for(image)
    return found.data if found.problem is None else None


def format_finding(problem: str, fix: str) -> Finding:
    """A finding of the submission-format rule (for the parser and the reader)."""
    return Finding(RULE, CLAUSE, problem, fix)


_problem = format_finding


def parse_submission(name: str, raw: bytes, *, is_folder: bool, time_zone: str,
                     approvals: bytes | None = None, post_file_name: str = POST_FILE
                     ) -> Submission:
    """Parse the bytes of post.md (or of a single-file post) as read by the reader, and the
    bytes of approvals.txt for a folder post; every problem is in the result's `problems`."""
    base = Submission(name=name, is_folder=is_folder, post_file_name=post_file_name,
                      post_bytes=raw)
    if is_folder:
        signed = raw
        approval_list, approval_problems = _parse_approval_lines(approvals or b"")
        base = replace(base, approvals_bytes=approvals)
    else:
        signed, approval_list, approval_problems = _trailer_approvals(raw)
    submission, problems = _parse_post(base, signed, time_zone)
    if submission.images and not is_folder:
        problems.append(_problem("a single-file post cannot carry images",
                                 "Put post.md and its images together in a folder."))
        submission = replace(submission, images=())
    return replace(submission, approvals=tuple(approval_list),
                   problems=tuple(problems + approval_problems))


def with_media(submission: Submission, media: dict[str, MediaFile], ignored: tuple[str, ...] = (),
               problems: tuple[Finding, ...] = ()) -> Submission:
    """The submission with the reader's image bytes, the names it left unread, and the
    problems it found in the folder itself."""
    return replace(submission, media=dict(media), ignored=tuple(ignored),
                   problems=submission.problems + tuple(problems))


def unreadable(name: str, problem: Finding) -> Submission:
    """A submission the reader could not read at all (a link, no post.md, too large...)."""
    return Submission(name=name, problems=(problem,))


# The front matter as tomllib reads it, and the Submission fields read from it so far, by name.
FrontMatter = dict[str, Any]
Fields = dict[str, Any]


def _parse_post(base: Submission, signed: bytes, time_zone: str) -> tuple[Submission, list[Finding]]:
    problems: list[Finding] = []
    fields: Fields = {"signed_bytes": signed}
    try:
        content = signed.decode("utf-8")
    except UnicodeDecodeError as error:
        problems.append(_problem(
            f"{base.post_file_name} is not UTF-8 text (unreadable byte at position {error.start})",
            "Save the file as UTF-8 (in most editors: Save As, Encoding: UTF-8)."))
        return replace(base, **fields), problems
    content = content.removeprefix("\ufeff").replace("\r\n", "\n")
    if not content.startswith("+++\n"):
        problems.append(_problem("the post does not start with front matter (a line '+++')",
                                 "Start post.md with a line '+++', the settings, and another "
                                 "'+++' line, then the text."))
        return replace(base, **fields), problems
    end = content.find("\n+++\n", 3)
    if end < 0 and content.endswith("\n+++"):
        end = len(content) - 4
    if end < 0:
        problems.append(_problem("the front matter is not closed by a line '+++'",
                                 "Add a line '+++' after the settings, before the text."))
        return replace(base, **fields), problems
    try:
        front = tomllib.loads(content[4:end + 1])
    except tomllib.TOMLDecodeError as error:
        problems.append(_settings_problem(content[4:end + 1], error))
        return replace(base, **fields), problems
    fields["text"] = content[end + 5:].strip()
    fields["parsed"] = True
    if any(key in REQUEST_KEYS for key in front):
        _read_request(front, fields, problems)
        return replace(base, **fields), problems
    for key in front:
        if key not in FRONT_MATTER_KEYS:
            close = difflib.get_close_matches(key, FRONT_MATTER_KEYS, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            problems.append(_problem(f"the front matter has an unknown setting '{key}'",
                                     f"Remove it or correct its name.{hint} Known settings: "
                                     f"{', '.join(FRONT_MATTER_KEYS)}."))
    _read_publish_at(front, time_zone, fields, problems)
    _read_platforms(front, fields, problems)
    _read_images(front, fields, problems)
    _read_platform_text(front, fields, problems)
    _read_pictured(front, fields, problems)
    if not fields["text"] and not fields.get("platform_text") and not fields.get("images"):
        problems.append(_problem("the post has no text and no images",
                                 "Write the post's text after the closing '+++' line."))
    return replace(base, **fields), problems


# Where tomllib says it stopped reading: "(at line 2, column 15)".
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)")
PUBLISH_AT_EXAMPLE = 'publish_at = "2026-11-23T09:00"'


def _settings_problem(front: str, error: tomllib.TOMLDecodeError) -> Finding:
    """One plain message for front matter that is not TOML: which line, what it says, and how
    to write it (an unquoted time is the usual mistake), rather than the parser's words."""
    position = _TOML_POSITION.search(str(error))
    lines = front.split("\n")
    number = int(position.group(1)) if position else 0
    line = lines[number - 1].strip() if 0 < number <= len(lines) else ""
    key, _, value = (part.strip() for part in line.partition("="))
    shown = visible(line if len(line) <= 80 else line[:77] + "...")
    file_line = number + 1  # the front matter starts after the first '+++' line
    if key == "publish_at" and value and value[0] not in "\"'":
        return _problem(f"publish_at on line {file_line} is written without quotes ({shown}), "
                        "so Steward cannot read it as a date and time",
                        f"Write the date and time in quotes, as {PUBLISH_AT_EXAMPLE} (school "
                        "time), or with an offset, e.g. "
                        'publish_at = "2026-11-23T09:00+00:00".')
    if line:
        return _problem(f"line {file_line} of the settings cannot be read: {shown}",
                        "Text needs quotes (alt = \"...\"), lists square brackets with quoted "
                        'names (pictured = ["First Surname"]), and each setting a line of its '
                        f"own, e.g. {PUBLISH_AT_EXAMPLE}.")
    reason = _TOML_POSITION.sub("", str(error))
    return _problem(f"the settings between the '+++' lines cannot be read ({reason})",
                    "Check that every text is in quotes and every list is closed, e.g. "
                    f"{PUBLISH_AT_EXAMPLE}.")


def _read_request(front: FrontMatter, fields: Fields, problems: list[Finding]) -> None:
    """A request about an earlier post: `cancel = "ID"` or `unpublish = "ID"`, alone (the
    text after the front matter, if any, is the reason, kept in the audit log's words)."""
    asked = [key for key in REQUEST_KEYS if key in front]
    others = sorted(set(front) - set(REQUEST_KEYS))
    if len(asked) > 1 or others:
        problems.append(_problem(
            "a request to cancel or unpublish a post must say only which post "
            f"(it also has: {', '.join(asked[1:] + others)})",
            'Write only cancel = "ID" or unpublish = "ID" between the \'+++\' lines; '
            "`steward cancel ID` and `steward unpublish ID` write it for you."))
        return
    target = front[asked[0]]
    if not isinstance(target, str) or not target.strip() or len(target) > MAX_REQUEST_TARGET \
            or unsafe_character(target) is not None:
        problems.append(_problem(
            f"{asked[0]} must give the post's id or name, in quotes",
            f'Write e.g. {asked[0]} = "20261123-0900-0123456789ab" (the id is in the notice '
            "Steward left in the rejected folder, or in the receipt in the archive)."))
        return
    fields["request"] = (asked[0], target.strip())


def _read_publish_at(front: FrontMatter, time_zone: str, fields: Fields, problems: list[Finding]) -> None:
    if "publish_at" not in front:
        return
    value = front["publish_at"]
    fields["publish_at_written"] = str(value)
    if isinstance(value, str):
        try:
            date.fromisoformat(value.strip())
        except ValueError:
            pass
        else:  # datetime.fromisoformat would read a date alone as midnight
            problems.append(_problem(f"publish_at '{value}' has a date but no time",
                                     "Add the time, e.g. 2026-11-23T09:00."))
            return
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            problems.append(_problem(f"publish_at '{value}' is not a date and time",
                                     "Write it as 2026-11-23T09:00 (school time) or with an "
                                     "offset, e.g. 2026-11-23T09:00+00:00."))
            return
    if isinstance(value, date) and not isinstance(value, datetime):
        problems.append(_problem(f"publish_at '{value}' has a date but no time",
                                 "Add the time, e.g. 2026-11-23T09:00."))
        return
    if isinstance(value, time):
        problems.append(_problem(f"publish_at {value} has a time but no date",
                                 f"Write the date and the time, in quotes: {PUBLISH_AT_EXAMPLE}."))
        return
    if not isinstance(value, datetime):
        problems.append(_problem("publish_at is not a date and time",
                                 f"Write it as {PUBLISH_AT_EXAMPLE}."))
        return
    if value.tzinfo is None:
        zone = ZoneInfo(time_zone)
        local = value.replace(tzinfo=zone)
        round_trip = local.astimezone(UTC).astimezone(zone)
        if round_trip.replace(tzinfo=None) != value:
            problems.append(_problem(
                f"publish_at {value:%Y-%m-%d %H:%M} does not exist in {time_zone}: the clocks go "
                "forward at that time",
                "Pick a time outside the hour the clocks skip, e.g. an hour later."))
            return
        value = local
    fields["publish_at"] = value.astimezone(UTC)


def _read_platforms(front: FrontMatter, fields: Fields, problems: list[Finding]) -> None:
    if "platforms" not in front:
        return
    value = front["platforms"]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value) \
            or not value:
        problems.append(_problem("platforms must be a list of platform names",
                                 'Write e.g. platforms = ["x", "facebook"].'))
        return
    fields["platforms"] = tuple(dict.fromkeys(item.strip().lower() for item in value))


def _read_images(front: FrontMatter, fields: Fields, problems: list[Finding]) -> None:
    """[[images]], then [[videos]]: one list of media, each remembering which it was."""
    images: list[ImageRef] = []
    for key, kind, example in (("images", "image", "name.jpg"), ("videos", "video", "name.mp4")):
        value = front.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            problems.append(_problem(f"{key} must be a list of [[{key}]] tables",
                                     f"Describe each {kind} in its own [[{key}]] block with "
                                     "file = and alt =."))
            continue
        for number, item in enumerate(value, start=1):
            unknown = set(item) - set(IMAGE_KEYS)
            if unknown:
                problems.append(_problem(f"{kind} {number} has unknown setting(s): "
                                         f"{', '.join(sorted(unknown))}",
                                         f"A{'n' if kind == 'image' else ''} {kind} has only "
                                         "file = and alt =."))
            file_name, alt = item.get("file"), item.get("alt", "")
            if not isinstance(file_name, str) or not file_name.strip():
                problems.append(_problem(f"{kind} {number} does not say which file it is",
                                         f'Add file = "{example}" to the [[{key}]] block.'))
                continue
            if not isinstance(alt, str):
                problems.append(_problem(f"{kind} {number}'s alt text is not text",
                                         f'Write alt = "what the {kind} shows".'))
                alt = ""
            images.append(ImageRef(file_name.strip(), alt.strip(), kind))
    fields["images"] = tuple(images)


def _read_platform_text(front: FrontMatter, fields: Fields, problems: list[Finding]) -> None:
    value = front.get("text", {})
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        problems.append(_problem("[text] must give a text per platform",
                                 'Write e.g. [text] then x = "the text for X".'))
        return
    fields["platform_text"] = {key.lower(): text.strip() for key, text in value.items()}


def _read_pictured(front: FrontMatter, fields: Fields, problems: list[Finding]) -> None:
    if "pictured" not in front:
        return
    value = front["pictured"]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append(_problem("pictured must be a list of pupils' names",
                                 'Write pictured = ["First Surname", ...], or pictured = [] '
                                 "when no pupil can be identified."))
        return
    fields["pictured"] = tuple(item.strip() for item in value if item.strip())


def _trailer_approvals(raw: bytes) -> tuple[bytes, list[ApprovalRecord], list[Finding]]:
    """Split a single-file post into the signed bytes (up to and including the newline before
    the marker line) and the approvals after it."""
    marker = re.search(rb"\n\+\+\+ approvals\r?\n", raw)
    if marker is None:
        return raw, [], []
    approvals, problems = _parse_approval_lines(raw[marker.end():])
    return raw[:marker.start() + 1], approvals, problems


def _parse_approval_lines(data: bytes) -> tuple[list[ApprovalRecord], list[Finding]]:
    approvals, problems = [], []
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            approvals.append(ApprovalRecord(str(record["signer"]), str(record["signature"])))
        except (ValueError, KeyError, TypeError):
            problems.append(_problem(f"approval line {number} is damaged",
                                     "Sign the post again with `steward sign`."))
    return approvals, problems


def approval_manifest(submission: Submission, signer: str) -> bytes:
    """The exact bytes an approval signs: the signer, the post, and the hash of every image.

    Any change to the text, the front matter or an image after signing changes these bytes and
    so voids the signature. Raise ValueError if an image was not read whole (missing, a link,
    a hard link, too large).
    """
    lines = ["steward-approval-v1", f"signer: {signer}",
             f"post: {hashlib.sha256(submission.signed_bytes).hexdigest()}"]
    for image in submission.images:
        data = readable_media(submission, image)
        if data is None:
            raise ValueError(f"{image.kind} '{image.file}' is missing, a link, or too large")
        lines.append(f"{image.kind}: {hashlib.sha256(data).hexdigest()} {image.file}")
    return ("\n".join(lines) + "\n").encode("utf-8")
