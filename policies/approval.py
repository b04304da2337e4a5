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
    post = _shown(submission.name)
    findings = [RULE.finding(problem, "The signer signs it again after the last edit (the new "
                             f"signature replaces the old one): steward sign {post} --key "
                             "~/THEIR.key, then submit it again. It must be the key file whose "
                             "public key the administrator configured for them: a new key "
                             "needs its public key configured first (steward keys new says "
                             "what to send).")
                for problem in evidence.problems]
    have = len(set(evidence.valid_signers))
    need = context.approvals_required
    if have < need:
        if have == 0 and not submission.approvals:
            problem = "the post has not been approved: it carries no SLT signature"
        else:
            problem = f"the post has {have} valid SLT approval(s) but needs {need} from " \
                      "different SLT members"
        cites = "second-reader" if need > 1 and have >= 1 else None
        if have >= 1:
            more = need - have
            who = "a second SLT member" if more == 1 and have == 1 else \
                f"{more} more SLT member(s), other than {', '.join(evidence.valid_signers)},"
            fix = (f"Ask {who} to run: steward sign {post} --key ~/THEIR.key, then submit it "
                   "again.")
        else:
            who = "an SLT member" if need == 1 else f"{need} different SLT members"
            fix = (f"Ask {who} to run: steward sign {post} --key ~/THEIR.key, or submit it "
                   f"signed: steward submit {post} --sign ~/YOUR.key.")
        findings.append(RULE.finding(problem, fix, cites=cites))
    return findings


def _shown(name: str) -> str:
    """The post's name as it would be typed in a shell, when it is plain (letters, digits,
    '.', '_', '-'); else POST-FOLDER: an odd name is not repeated into a message."""
    plain = 0 < len(name) <= 80 and all(ch.isascii() and (ch.isalnum() or ch in "._-")
                                        for ch in name)
    return name if plain else "POST-FOLDER"


RULE = Rule("slt-approval", "st-marys.slt-posts", check)
