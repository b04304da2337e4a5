"""Only SLT-approved posts are published: enough distinct, valid signatures of configured signers.

The signatures themselves are checked by `daemon.posts.approval` (with `daemon.runtime.keys`,
which holds the cryptography); this rule decides whether what was found is enough.
"""

from __future__ import annotations

from policies.findings import Finding, PolicyContext, Rule
from policies.submission import Submission


def approved(context: PolicyContext) -> bool:
    """Whether enough different configured SLT members signed: until they have, nothing in the
    post is decoded (a picture is work, and possibly a bomb, that nobody has vouched for)."""
    return len(set(context.approval.valid_signers)) >= context.approvals_required


def check(submission: Submission, context: PolicyContext) -> list[Finding]:
    evidence = context.approval
    findings = [RULE.finding(problem, "Ask an SLT member to sign the post again with "
                             "`steward sign` after the last edit.") for problem in evidence.problems]
    have = len(set(evidence.valid_signers))
    need = context.approvals_required
    if have < need:
        if have == 0 and not submission.approvals:
            problem = "the post has not been approved: it carries no SLT signature"
        else:
            problem = f"the post has {have} valid SLT approval(s) but needs {need} from " \
                      "different SLT members"
        cites = "second-reader" if need > 1 and have >= 1 else None
        who = "an SLT member" if need == 1 else f"{need} different SLT members"
        findings.append(RULE.finding(problem, f"Have {who} sign it with `steward sign POST --key "
                                     "THEIR-KEY`, or submit it with `steward submit POST --sign "
                                     "KEY`.", cites=cites))
    return findings


RULE = Rule("slt-approval", "st-marys.slt-posts", check)
