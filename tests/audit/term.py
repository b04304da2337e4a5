"""A term's worth of audit events, written through the real AuditLog with a clock moved by
hand: what the reading, export and report tests read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from daemon.audit.chain import AuditLog
from daemon.runtime.clock import FixedClock

TERM_START = datetime(2026, 9, 7, 8, 0, tzinfo=UTC)  # a Monday
WEEKS = 12


def write_term(state_dir: Path) -> Path:
    """Write twelve weeks of events into `state_dir`, rotating daily as the daemon does, and
    return the state directory."""
    clock = FixedClock(TERM_START)
    audit = AuditLog(state_dir / "audit.jsonl", clock, checkpoint_every_events=25)
    for week in range(WEEKS):
        for day in range(5):
            audit.rotate_if_due()
            for number in range(1 + (week + day) % 3):
                name = f"news-w{week}-d{day}-{number}"
                submission = f"S{week}{day}{number}"
                audit.record("submission.accepted", clause="st-marys.slt-posts", name=name,
                             submission=submission, approved_by=["Deputy Head (test)"])
                for platform in ("x", "facebook"):
                    audit.record("post.published", clause="st-marys.slt-posts", name=name,
                                 submission=submission, platform=platform,
                                 url=f"https://example.invalid/{platform}/{submission}")
                clock.advance(600)
            if (week + day) % 4 == 0:
                audit.record("submission.refused", name=f"draft-w{week}-d{day}",
                             rules=["pupil-names"] if day % 2 else ["location-metadata",
                                                                     "slt-approval"],
                             clauses=["st-marys.no-full-names"] if day % 2 else
                             ["st-marys.no-geolocation", "st-marys.slt-posts"],
                             reasons=1, audience="SLT")
            if week % 3 == 1 and day == 2:
                audit.record("reply.hidden", clause="wightwick.moderation", platform="facebook",
                             reply=f"R{week}", author_id="4000")
                audit.record("user.blocked", clause="wightwick.moderation",
                             platform="facebook", reply=f"R{week}", author_id="4000")
                audit.record("incident.recorded", clause="rochester.incident-log",
                             incident=f"INC-2026-{week:04d}", platform="facebook",
                             reply=f"R{week}", nature="threat, insult",
                             action_taken="comment hidden; author blocked from the Page",
                             reported_to="head teacher, e-safety lead", channel="smtp",
                             evidence_sha256=f"{week:02d}" + "ab" * 31)
            if week % 4 == 3 and day == 4:
                audit.record("reply.hidden", clause="wightwick.moderation", platform="x",
                             reply=f"RX{week}", author_id="5000")
                audit.record("user.muted", clause="wightwick.moderation", platform="x",
                             reply=f"RX{week}", author_id="5000")
                audit.record("follower.removed", platform="x", follower="7000",
                             reason="not on the verified list")
                audit.record("settings.drift", platform="x", setting="protected",
                             observed=False)
                audit.record("spend.daily", platform="x", day=f"2026-{9 + week // 5:02d}-0{day}",
                             usd=0.75, operations={"GET /2/users/{id}/followers": 0.5,
                                                   "POST /2/tweets": 0.25})
            clock.advance(24 * 3600 - 600 * (1 + (week + day) % 3))
        clock.advance(2 * 24 * 3600)
    for step in ("started", "master_key_rotated", "escrow_moved", "finished"):
        audit.record(f"handover.{step}", clause="wightwick.accounts-belong-to-school",
                     handover=1, old="Admin A (test)", new="Admin B (test)")
    audit.close()
    return state_dir
