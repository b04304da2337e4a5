"""No personal information: phone numbers (UK formats), e-mail addresses, postcodes and street
addresses, dates of birth, and a named pupil's age. The school's own contact details, listed in
the configuration, may appear. Findings say what kind of data and where, not the data."""

from __future__ import annotations

import re

from policies.fields import public_fields
from policies.findings import Finding, PolicyContext, Rule
from policies.submission import Submission
from policies.text_matching import fold, words

PHONE = re.compile(r"(?<![\d+])(?:\+44\s?\(?0?\)?\s?|\(?0)\d[\d\s()-]{7,14}\d(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
POSTCODE = re.compile(r"\b(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})\b",
                      re.IGNORECASE)
STREET = re.compile(
    r"\b\d{1,4}[a-z]?,?\s+(?:[A-Z][\w'-]+\s+){1,3}(?:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Close|"
    r"Drive|Dr|Way|Crescent|Cres|Grove|Place|Pl|Court|Ct|Gardens|Gdns|Terrace|Hill|Row|Square|"
    r"Walk|Mews|Rise|View|Park|Green|Parade|Vale)\b")
MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
BIRTH = re.compile(
    r"\b(?:born|d\.?o\.?b\.?|date of birth|birthday)\b[\s:,-]*(?:on\s+)?(?:the\s+)?"
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?" + MONTHS
    + r"(?:\s+\d{4})?|" + MONTHS + r"\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?)", re.IGNORECASE)
AGE = re.compile(r"\b(?:aged?\s+\d{1,2}|\d{1,2}[\s-]?(?:years?|yrs?)[\s-]?old|turn(?:s|ed)\s+\d{1,2})"
                 r"\b|\(\d{1,2}\)", re.IGNORECASE)
# "Jane, 10," or "... went to Jane, 10.": a word, a comma, a number of one or two digits, then
# the end of the clause (a comma, full stop, "and"...). A score ("Jane, 10 out of 10"), a time
# ("10.30") or a year group ("Year 10, Year 11") does not end the clause there, or has no comma
# before its number. The word must be a pupil's first name (checked against the roster).
NAME_COMMA_AGE = re.compile(r"([^\W\d_][\w'\u2019-]*),[ \t]+(\d{1,2})"
                            r"(?=[ \t]*(?:[,;:)!?]|\.(?!\d)|$)|[ \t]+(?:and|&)[ \t])",
                            re.MULTILINE)


def _digits(text: str) -> str:
    """A phone number in national form: '+44 (0)7700 900 123' -> '07700900123'."""
    digits = re.sub(r"\D", "", text)
    if digits.startswith("44"):
        rest = digits[2:]
        return rest if rest.startswith("0") else "0" + rest
    return digits


def _allowed(value: str, context: PolicyContext) -> bool:
    wanted = {_digits(item) for item in context.school_contact_details if _digits(item)}
    wanted |= {fold(item).replace(" ", "") for item in context.school_contact_details}
    return _digits(value) in wanted or fold(value).replace(" ", "") in wanted


def _named_age(text: str, context: PolicyContext) -> bool:
    if context.roster is None:
        return False
    for match in NAME_COMMA_AGE.finditer(text):
        if any(word in context.roster.first_names for word in words(match.group(1))):
            return True
    for match in AGE.finditer(text):
        nearby = words(text[max(0, match.start() - 40):match.end() + 40])
        if any(word in context.roster.first_names for word in nearby):
            return True
    return False


def check(submission: Submission, context: PolicyContext) -> list[Finding]:
    findings = []
    for label, text in public_fields(submission, context):
        kinds = []
        for match in PHONE.finditer(text):
            if len(_digits(match.group())) in (10, 11) and not _allowed(match.group(), context):
                kinds.append("a phone number")
                break
        if any(not _allowed(m.group(), context) for m in EMAIL.finditer(text)):
            kinds.append("an e-mail address")
        if any(not _allowed(m.group(), context) for m in POSTCODE.finditer(text)):
            kinds.append("a postcode")
        if any(not _allowed(m.group(), context) for m in STREET.finditer(text)):
            kinds.append("a street address")
        if BIRTH.search(text):
            kinds.append("a date of birth")
        if _named_age(text, context):
            kinds.append("a pupil's age next to their name")
        for kind in kinds:
            findings.append(RULE.finding(
                f"{label} contains {kind}",
                "Remove it. Only the school's own contact details may appear (the administrator "
                "lists them under personal_data.school_contact_details)."))
    return findings


RULE = Rule("personal-data", "st-marys.no-personal-information", check)
