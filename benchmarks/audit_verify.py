"""How long checking the audit log takes as it grows: Steward verifies the whole chain (every
archived file) at each start, and auditors run the same check with `steward audit verify`.
Writes N events (default 100,000) to a temporary state directory, then times verify_chain.
Run: .venv/bin/python benchmarks/audit_verify.py [N]
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon.audit.chain import AuditLog  # noqa: E402
from daemon.audit.verification import verify_chain  # noqa: E402
from daemon.runtime.keys import audit_signing_key, public_key_text  # noqa: E402


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    state = Path(tempfile.mkdtemp())
    audit = AuditLog(state / "audit.jsonl")
    started = time.perf_counter()
    for number in range(events):
        audit.record("post.published", platform="x", name=f"news-{number}",
                     url=f"https://example.invalid/x/{number}")
    audit.close()
    written = time.perf_counter() - started
    started = time.perf_counter()
    report = verify_chain([state], [public_key_text(audit_signing_key(state))])
    checked = time.perf_counter() - started
    print(f"{report.events:,} events ({(state / 'audit.jsonl').stat().st_size / 2**20:.1f} MB): "
          f"written in {written:.2f} s, verified in {checked:.2f} s "
          f"({checked / report.events * 1e6:.1f} µs per event); {report.headline()[:12]}")


if __name__ == "__main__":
    main()
