"""SLT approvals: `steward sign POST --key FILE` adds a signature over `approval_manifest` (the
post's bytes and each image's SHA-256), so any edit after signing voids it; `verify_approvals`
checks them against the configured signers' public keys. The keys are `daemon.runtime.keys`.

Signing again replaces the signer's earlier signature (after an edit, the old one would no
longer match and would refuse the post). A signature by someone who is not a configured signer
is ignored with a warning: it neither counts nor blocks the signatures that do.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

from daemon.posts.reading import read_submission
from daemon.runtime.keys import ApprovalKey, verify_signature
from policies.displayed_text import visible
from policies.findings import ApprovalEvidence
from policies.submission import (
    APPROVALS_FILE,
    APPROVALS_MARKER,
    ApprovalRecord,
    Submission,
    approval_manifest,
)


def sign_submission(submission: Submission, key: ApprovalKey, max_media_bytes: int) -> bool:
    """Add `key`'s signature to the submission (approvals.txt, or the single file's trailer),
    replacing any earlier signature by the same signer; return True if one was replaced.

    The signature covers the bytes the reader read (`submission`), so an image swapped after
    that is not signed. Raise ValueError if the submission cannot be signed (an image is
    missing or too large, or it was not read from a file).
    """
    if submission.origin is None:
        raise ValueError("only a post read from a file or folder can be signed")
    origin = submission.origin
    if not submission.is_folder and not submission.approvals:
        # The trailer marker must follow a newline that is already part of the signed bytes.
        with open(origin, "ab") as handle:
            if not submission.signed_bytes.endswith(b"\n"):
                handle.write(b"\n")
            handle.write(APPROVALS_MARKER)
        submission = read_submission(origin, "UTC", max(origin.stat().st_size, 1),
                                     name=submission.name, max_media_bytes=max_media_bytes)
    manifest = approval_manifest(submission, key.name)
    signature = base64.b64encode(key.private_key.sign(manifest)).decode("ascii")
    kept = [record for record in submission.approvals if record.signer != key.name]
    lines = "".join(json.dumps({"signer": record.signer, "signature": record.signature},
                               ensure_ascii=False) + "\n"
                    for record in [*kept, ApprovalRecord(key.name, signature)])
    if submission.is_folder:
        _replace_file(origin / APPROVALS_FILE, lines.encode("utf-8"))
    else:
        _replace_file(origin, submission.signed_bytes + APPROVALS_MARKER + lines.encode("utf-8"))
    return len(kept) != len(submission.approvals)


def _replace_file(path: Path, data: bytes) -> None:
    """Write `path` whole under a temporary name and rename it over the old one, keeping its
    mode: a signature is never half-written, and an interrupted sign leaves the old ones."""
    temporary = path.with_name(f".{path.name}.signing")
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)


def verify_approvals(submission: Submission, signers: dict[str, str]) -> ApprovalEvidence:
    """Check each signature against the configured public keys (name -> base64).

    Return the names of the signers whose signatures are valid, a plain-English problem for
    each one that is not (edited after signing, made with another key under a configured
    signer's name, damaged signature), and a warning for each by
    someone who is not a configured signer (ignored: it neither counts nor refuses the post).
    An old signature of a signer who also signed validly is a warning too, not a problem.
    """
    valid: list[str] = []
    problems: list[tuple[str, str]] = []
    ignored: list[str] = []
    for record in submission.approvals:
        public = signers.get(record.signer)
        if public is None:
            ignored.append(f"a signature by '{visible(record.signer)}' was ignored: they are not "
                           "one of the school's configured SLT signers (if they should be, the "
                           "administrator adds their public key)")
            continue
        try:
            manifest = approval_manifest(submission, record.signer)
        except ValueError:
            problems.append((record.signer, f"the signature by '{visible(record.signer)}' cannot "
                             "be checked: an image or video is missing or unreadable"))
            continue
        if not verify_signature(public, manifest, record.signature):
            problems.append((record.signer, f"the signature by '{visible(record.signer)}' does "
                             "not match the post: either the post was changed after signing, "
                             "or it was not signed with the key configured for "
                             f"'{visible(record.signer)}' (another key file made under that "
                             "name), or the signature is damaged"))
            continue
        valid.append(record.signer)
    for signer in dict.fromkeys(signer for signer, _ in problems):
        if signer in valid:
            ignored.append(f"an older signature by '{visible(signer)}' no longer matches the "
                           "post and was ignored (their newer one counts)")
    return ApprovalEvidence(tuple(dict.fromkeys(valid)),
                            tuple(problem for signer, problem in problems if signer not in valid),
                            tuple(ignored))


