"""A post is published when it says, and not long after: one whose time has long passed is held.

A publish_at in the past is fine when it is within the grace window (the post goes out now);
beyond it, the post was probably meant for an occasion that has passed, so a person decides.
"""

from __future__ import annotations

from datetime import timedelta

from policies.findings import Finding, PolicyContext, Rule
from policies.submission import Submission


def check(submission: Submission, context: PolicyContext) -> list[Finding]:
    if submission.publish_at is None:
        return []
    late = context.now - submission.publish_at
    if late > timedelta(minutes=context.grace_minutes):
        hours = late.total_seconds() / 3600
        return [RULE.finding(
            f"publish_at ({submission.publish_at_written}) was {hours:,.1f} hours ago, beyond the "
            f"{context.grace_minutes:g}-minute grace window",
            "Check the post is still right to publish, set a new publish_at, and sign it again.")]
    return []


RULE = Rule("schedule", "steward.format", check)
