"""SLT approvals: `steward sign POST --key FILE` appends a signature over `approval_manifest` (the
post's bytes and each image's SHA-256), so any edit after signing voids it; `verify_approvals`
checks them against the configured signers' public keys. The keys are `daemon.runtime.keys`.
"""

from __future__ import annotations

import base64
import json

from daemon.posts.reading import read_submission
from daemon.runtime.keys import ApprovalKey, verify_signature
from policies.findings import ApprovalEvidence
from policies.submission import (
    APPROVALS_FILE,
    APPROVALS_MARKER,
    Submission,
    approval_manifest,
)


def sign_submission(submission: Submission, key: ApprovalKey, max_media_bytes: int) -> None:
    """Append `key`'s signature to the submission (approvals.txt, or the single file's trailer).

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
    line = json.dumps({"signer": key.name, "signature": signature}, ensure_ascii=False) + "\n"
    target = origin / APPROVALS_FILE if submission.is_folder else origin
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(line)


def verify_approvals(submission: Submission, signers: dict[str, str]) -> ApprovalEvidence:
    """Check each signature against the configured public keys (name -> base64).

    Return the names of the signers whose signatures are valid, and a plain-English problem for
    each one that is not (unknown signer, edited after signing, damaged signature).
    """
    valid: list[str] = []
    problems: list[str] = []
    for record in submission.approvals:
        public = signers.get(record.signer)
        if public is None:
            problems.append(f"the signature by '{record.signer}' is not from a configured SLT "
                            "signer")
            continue
        try:
            manifest = approval_manifest(submission, record.signer)
        except ValueError:
            problems.append(f"the signature by '{record.signer}' cannot be checked: an image is "
                            "missing or unreadable")
            continue
        if not verify_signature(public, manifest, record.signature):
            problems.append(f"the signature by '{record.signer}' does not match the post: it was "
                            "changed after signing, or the signature is damaged")
            continue
        valid.append(record.signer)
    return ApprovalEvidence(tuple(dict.fromkeys(valid)), tuple(problems))


