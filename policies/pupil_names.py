"""No child is named in full: the post's text, alt text and image file names are searched for
every pupil on the roster, however the name is written (case, accents, punctuation,
possessives, #HashTags, CamelCase, words in between) or disguised (look-alike letters from
other alphabets, letters spaced or dotted apart, digits for letters, a right-to-left override,
invisible characters between the letters). The finding says where or how, never who."""

from __future__ import annotations

from policies.fields import public_fields
from policies.findings import Finding, PolicyContext, Rule
from policies.roster import find_pupil_names
from policies.submission import Submission

ADVICE = {
    "full name": "Use the pupil's first name only, or no name.",
    "first name and initial": "This school does not allow a first name with an initial: "
                              "leave the name out.",
    "first name": "This school does not allow pupils' first names either: leave names out.",
}


def check(submission: Submission, context: PolicyContext) -> list[Finding]:
    if context.roster is None or not len(context.roster):
        return []
    findings = []
    for label, text in public_fields(submission, context):
        for match in find_pupil_names(text, context.roster, window=context.names.window,
                                      allow_initials=context.names.allow_initials,
                                      allow_first_names=context.names.allow_first_names):
            if match.disguise:
                where = match.disguise
            elif match.start == match.end:
                where = f"at word {match.start + 1}"
            else:
                where = f"at words {match.start + 1}-{match.end + 1}"
            findings.append(RULE.finding(
                f"{label} names a pupil ({match.kind}, {where})", ADVICE[match.kind]))
    return findings


RULE = Rule("pupil-names", "st-marys.no-full-names", check)
