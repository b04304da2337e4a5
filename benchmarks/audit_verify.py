"""How long checking the audit log takes: Steward verifies the whole chain (every archived
file) at each start, and auditors run the same check with `steward audit verify`.

Writes N events (default 100,000) to a temporary state directory, then times, in interleaved
rounds, verify_chain (what `steward audit verify` runs: the hashes, the chain, the numbering,
every checkpoint's signature, the end) against a minimal hash-chain check (each line's SHA-256
and its link to the line before, json.loads, nothing else). Prints lines per second.
Run: .venv/bin/python benchmarks/audit_verify.py [N] [ROUNDS]
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import structlog
from common import compare

from daemon.audit.chain import GENESIS, AuditLog
from daemon.audit.verification import verify_chain
from daemon.runtime.keys import audit_signing_key, public_key_text


def minimal_chain_check(path: Path) -> int:
    """The baseline: every line's hash, and its link to the line before."""
    previous, lines = GENESIS, 0
    with open(path, "rb") as handle:
        for raw in handle:
            body, _, tail = raw.rstrip(b"\n").rpartition(b',"hash":"')
            body += b"}"
            recorded = tail[:64].decode("ascii")
            if hashlib.sha256(body).hexdigest() != recorded or \
                    json.loads(body)["prev"] != previous:
                raise ValueError(f"line {lines + 1} does not verify")
            previous, lines = recorded, lines + 1
    return lines


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    state = Path(tempfile.mkdtemp())
    audit = AuditLog(state / "audit.jsonl", echo_info=False)
    for number in range(events):
        audit.record("post.published", platform="x", name=f"news-{number}",
                     url=f"https://example.invalid/x/{number}")
    audit.close()
    keys = [public_key_text(audit_signing_key(state))]
    ours, theirs = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        report = verify_chain([state], keys)
        ours.append(report.events / (time.perf_counter() - started))
        started = time.perf_counter()
        lines = minimal_chain_check(state / "audit.jsonl")
        theirs.append(lines / (time.perf_counter() - started))
    size = (state / "audit.jsonl").stat().st_size / 2**20
    print(f"{report.events:,} lines ({size:.1f} MB, {report.checkpoints} checkpoints): "
          f"{report.headline()[:12]}")
    compare("audit verify", "lines/s", ours, theirs, "a minimal hash-chain check")


if __name__ == "__main__":
    main()
