"""No hidden characters in what is published: invisible characters (zero-width spaces, fillers,
soft hyphens, tag characters...) and characters that change the direction text is shown in are
refused in the text, the alt text and the image file names.

Such characters make a post read differently to its readers than to the SLT member who
approved it and to Steward's checks (a name or a link can hide behind them), so the post would
no longer be "clear, transparent and open to scrutiny". The finding names the character by its
Unicode name and says where it is, never what the text around it says (it may be a pupil's
name). Emoji sequences and the joiners some scripts need are allowed (see
policies.displayed_text).
"""

from __future__ import annotations

from policies.displayed_text import HiddenCharacter, hidden_characters
from policies.fields import public_fields
from policies.findings import Finding, PolicyContext, Rule
from policies.submission import Submission

FIX = ("Retype the text around that position by hand (text copied from another app, a website "
       "or a message often brings hidden characters with it), or delete the character with "
       "the arrow keys. Hidden characters can make a post read differently to the public than "
       "to the people who approved it.")


def _describe(label: str, text: str, first: HiddenCharacter, count: int) -> str:
    kind = ("a character that changes the direction text is shown in"
            if first.changes_direction else "an invisible character")
    where = f"line {first.line}, character {first.column}" if "\n" in text \
        else f"character {first.column}"
    more = f" (and {count - 1} more like it)" if count > 1 else ""
    return f"{label} contains {kind} ({first.label}) at {where}{more}"


def check(submission: Submission, context: PolicyContext) -> list[Finding]:
    findings = []
    for label, text in public_fields(submission, context):
        by_character: dict[str, list[HiddenCharacter]] = {}
        for hidden in hidden_characters(text):
            by_character.setdefault(hidden.character, []).append(hidden)
        for found in by_character.values():
            findings.append(RULE.finding(_describe(label, text, found[0], len(found)), FIX))
    return findings


RULE = Rule("hidden-characters", "rochester.scrutiny", check)
