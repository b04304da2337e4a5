"""Run every rule over a submission, in a fixed order, and collect all findings.

All rules run even after one refuses, so that the person fixing the post sees every reason at
once rather than one per attempt.
"""

from __future__ import annotations

from dataclasses import replace

from policies import (
    approval,
    faces,
    hidden_characters,
    links,
    location,
    media_files,
    personal_data,
    photo_consent,
    platforms,
    pupil_names,
    schedule,
)
from policies.findings import Finding, PolicyContext, Rule
from policies.submission import Submission

RULES: tuple[Rule[Submission], ...] = (
    media_files.RULE,
    location.RULE,
    faces.RULE,
    photo_consent.RULE,
    hidden_characters.RULE,
    pupil_names.RULE,
    personal_data.RULE,
    links.RULE,
    platforms.RULE,
    schedule.RULE,
    approval.RULE,
)


def evaluate(submission: Submission, context: PolicyContext) -> list[Finding]:
    """Return every finding: the parser's problems first, then each rule's, in order, each
    citing the school's clause (`context.clauses`).

    A post whose settings could not be read at all gets only the parser's problems: every
    rule would otherwise report what follows from the one mistake (no date, no platforms, no
    approval of the text...), a cascade that hides the one thing to fix."""
    findings = list(submission.problems)
    if findings and not submission.parsed:
        return [finding.cited_in(context.clauses) for finding in findings]
    for rule in RULES:
        findings.extend(rule.check(submission, context))
    return [finding.cited_in(context.clauses) for finding in findings]


MEDIA_RULES = (media_files.RULE, location.RULE, faces.RULE, platforms.RULE)


def recheck_fixed_media(submission: Submission, context: PolicyContext) -> list[Finding]:
    """Run the picture rules again on what the fixers wrote (cleaned, maybe blurred copies),
    with faces refused whatever the policy: a blurred copy must show no face at all."""
    strict = replace(context, faces="refuse" if context.faces == "blur" else context.faces)
    findings = []
    for rule in MEDIA_RULES:
        findings.extend(rule.check(submission, strict))
    return [finding.cited_in(context.clauses) for finding in findings]
