"""The verification result in words for governors: what the top of the report says.

`steward audit verify` speaks to auditors (file, line, checkpoint, chain head). A governor
needs to know whether the record can be trusted, what is wrong if not, and what to do next:
who to tell and what to keep. This module says that, with no hashes, line numbers or
sequence numbers; the report prints the auditor's sentence below it.

The verifier's problems are told apart by the words of its messages (daemon.audit.verification,
which says them to auditors): PROBLEMS lists a phrase of each and the plain sentence for it,
first match wins, and a message no phrase matches still gets a plain (less precise) sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.audit.verification import ChainReport

COMPLETE = "The record is complete and unaltered"
NOT_COMPLETE = "The record is NOT complete and unaltered"
NO_KEY = ("The record could not be checked: this report was written without Steward's "
          "public key.")

# (phrase in the auditor's message, what it means for a governor), most specific first.
PROBLEMS: tuple[tuple[str, str], ...] = (
    ("no public key was given", NO_KEY),
    ("there is no audit log at all", "the record is missing: Steward's own database shows it "
     "was at work, but there is no log"),
    ("found the log tampered with", "someone tampered with the record while Steward was "
     "writing it; Steward noticed, and kept what it found"),
    ("the log is shorter than Steward's own record", "entries were removed: the record is "
     "shorter than Steward's own note of where it had got to"),
    ("is not the checkpoint Steward's database recorded", "the record was rewritten or "
     "replaced from some point on"),
    ("holds no signed checkpoint, but", "the record was replaced: it carries none of the seals "
     "Steward puts on it, although Steward has been at work"),
    ("the chain does not begin here", "the beginning of the record is missing: older files "
     "were removed without being retired on the record"),
    ("does not continue", "a file of the record is missing, or was changed or replaced"),
    ("does not start a chain", "the beginning of the record is missing, or was changed"),
    ("which is not a key you gave", "the record is sealed with a key other than the one you "
     "were given: it was made by another Steward, or forged"),
    ("signature is not valid", "the record's seals do not match its entries: entries were "
     "changed and the seals forged"),
    ("count of events does not match", "the record's seals do not match its entries: entries "
     "were changed and the seals forged"),
    ("was edited", "an entry was changed after it was written"),
    ("has no hash", "an entry was changed after it was written"),
    ("is not valid JSON", "an entry was changed after it was written"),
    ("is not an audit event", "an entry was changed after it was written"),
    ("does not follow line", "entries were removed, added or moved"),
    ("was expected: lines were", "entries were removed, added or moved"),
    ("last line is incomplete", "it ends in the middle of an entry: it was cut off, or was "
     "being written as this report was made"),
    ("holds no signed checkpoint at all", "it carries none of the seals Steward puts on it, so "
     "nothing shows it is Steward's"),
    ("possibly truncated or forged", "it carries none of the seals Steward puts on it, so "
     "nothing shows it is Steward's"),
    ("does not end in a signed checkpoint", "its end is not sealed, so it may have been cut "
     "short (or Steward was still writing it when this report was made)"),
)

KEEP = ("Keep this report. Ask Steward's administrator to copy, before anything else is "
        "changed, the files audit.jsonl, audit-archive/ and audit-tampered/ from Steward's state "
        "directory off the machine (to a USB stick kept in the school safe, say), and keep the "
        "checkpoint e-mails Steward sent. Do not delete, edit or \"repair\" anything: what is "
        "there now is the evidence.")
TELL = ("Tell Steward's administrator and the chair of governors today (and the school's "
        "auditor, if it has one); if the record of incidents matters to a case, tell the "
        "designated safeguarding lead too.")
COMPARE = ("Compare with the figure kept from the last report (\"Keep this figure\"): a "
           "record that no longer holds it has lost entries since.")


@dataclass(frozen=True)
class PlainVerdict:
    """What the top of the report says: `colour` (the CSS class: verified, warning or
    failed), the headline, a sentence under it, and what to do next (empty when nothing)."""

    colour: str
    headline: str
    detail: str
    next_steps: tuple[str, ...] = ()


def plain_verdict(verification: ChainReport) -> PlainVerdict:
    """The verification result for a governor: green when the record is complete and
    unaltered, amber when it is but Steward found it tampered with (and put it back whole),
    red when it is not or could not be checked."""
    if verification.problem is not None:
        return _not_verified(verification.problem.message)
    if not verification.last_checkpoint:
        return PlainVerdict("verified", "The record is empty: Steward has recorded nothing yet.",
                            "There is nothing to check.")
    open_tail = (f" The newest {verification.uncovered} entries are not sealed yet: Steward "
                 "seals them within the hour, and when it stops.") if verification.uncovered \
        else ""
    detail = (f"All {verification.events:,} entries of Steward's record were checked, from the "
              "first to the last: none is missing, none was changed, and the record is sealed "
              f"with Steward's key.{open_tail}")
    if verification.tampering:
        times = len(verification.tampering)
        return PlainVerdict(
            "warning", f"{COMPLETE}, but someone tampered with it: Steward noticed "
            f"{'once' if times == 1 else f'{times} times'} and put it back whole.",
            detail, (TELL, KEEP, "Ask the administrator what was found: the details are "
                     "below, for auditors, and in audit-tampered/."))
    return PlainVerdict("verified", f"{COMPLETE}.", detail)


def _not_verified(message: str) -> PlainVerdict:
    meaning = next((plain for phrase, plain in PROBLEMS if phrase in message), None)
    if meaning == NO_KEY:
        return PlainVerdict("failed", NO_KEY, "Without the key, nothing shows that the record is "
                            "Steward's and unaltered.", (
                                "Ask Steward's administrator to write the report again with "
                                "the public key handed to the governors (`steward audit "
                                "report --html FILE --key steward-audit.pub`; the key is what "
                                "`steward audit pubkey` printed on the day it was handed "
                                "over).",))
    meaning = meaning or "part of it is missing, was changed, or cannot be checked"
    headline = f"{NOT_COMPLETE}: {meaning}."
    steps = [TELL, KEEP, COMPARE]
    if "--open-tail" in message:
        steps.append("If Steward was running when this report was made, the end of the record "
                     "may only be waiting for its seal: the administrator can write the report "
                     "again with --open-tail, which checks everything up to the last seal. If "
                     "it is still red then, treat it as above.")
    return PlainVerdict("failed", headline, "Figures below come from the record as it is now, "
                        "and may be incomplete.", tuple(steps))
