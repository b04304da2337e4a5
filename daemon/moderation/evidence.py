"""The evidence store: an append-only folder of JSON files, one per reply Steward acts on.

Each file holds the platform's full JSON, the text, author, permalink, timestamps and the
verdict with its reasons. It is created exclusively (never overwritten), written, and synced
(file and folder) before anything changes on the platform, so the evidence exists even when the
hide or block that follows fails. The audit log records only the file's SHA-256 and path.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path

from connectors.domain import Reply
from policies.moderation import Verdict


class EvidenceStore:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def save(self, reply: Reply, verdict: Verdict, collected_at: datetime) -> tuple[Path, str]:
        """Write the evidence for `reply` (once); return its path and SHA-256."""
        month = (reply.created_at or collected_at).strftime("%Y-%m")
        folder = self.folder / reply.platform / month
        folder.mkdir(parents=True, exist_ok=True, mode=0o750)
        safe_id = "".join(ch for ch in reply.reply_id if ch.isalnum() or ch in "_-")
        path = folder / f"{safe_id}.json"
        record = {
            "platform": reply.platform, "reply_id": reply.reply_id,
            "author_id": reply.author_id, "author_handle": reply.author_handle,
            "text": reply.text, "permalink": reply.url, "in_reply_to": reply.in_reply_to,
            "created_at": reply.created_at.isoformat() if reply.created_at else None,
            "collected_at": collected_at.isoformat(), "verdict": verdict.as_json(),
            "platform_json": reply.raw,
        }
        data = json.dumps(record, ensure_ascii=False, indent=2, default=str).encode("utf-8")
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        except FileExistsError:  # collected before (a crash between evidence and action)
            existing = path.read_bytes()
            return path, hashlib.sha256(existing).hexdigest()
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return path, hashlib.sha256(data).hexdigest()
