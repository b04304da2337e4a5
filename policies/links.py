"""Links go only where the school means them to: allowed (or not denied) domains, no URL
shorteners that hide the target, no bare IP addresses, no look-alike domains (punycode and
homoglyphs are decoded and compared with the allowed and well-known domains)."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from policies.fields import public_fields
from policies.findings import Finding, LinkRules, PolicyContext, Rule
from policies.submission import Submission

URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"'\]\[]+")
BARE = re.compile(r"(?i)(?<![@\w./-])((?:[a-z0-9-]+\.)+(?:com|org|net|uk|gov|edu|io|info|co|me|"
                  r"ly|gl|gd|to|tv|xyz|app|dev|link|page|site)\b(?:/[^\s<>\"']*)?)")
SHORTENERS = frozenset({
    "bit.ly", "bitly.com", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "buff.ly", "is.gd",
    "tiny.cc", "rb.gy", "cutt.ly", "shorturl.at", "rebrand.ly", "lnkd.in", "t.ly", "s.id",
    "bl.ink", "soo.gd", "v.gd", "qr.ae", "adf.ly", "shorte.st", "tr.im", "x.co", "y2u.be",
    "youtu.be", "fb.me", "trib.al", "dlvr.it", "ift.tt", "surl.li", "shorturl.com", "tiny.one",
})
WELL_KNOWN = ("gov.uk", "nhs.uk", "bbc.co.uk", "google.com", "microsoft.com", "facebook.com",
              "x.com", "twitter.com", "youtube.com", "paypal.com", "apple.com", "amazon.co.uk",
              "parentpay.com", "scopay.com", "arbor-education.com")
# Letters from other scripts that look like Latin ones (Unicode confusables, the common part).
CONFUSABLES = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ɡ": "g", "һ": "h", "ӏ": "l", "ο": "o", "ν": "v", "α": "a", "ε": "e",
    "ρ": "p", "τ": "t", "κ": "k", "ι": "i", "ᴠ": "v", "ꮃ": "w", "ⅼ": "l", "ℓ": "l", "０": "0",
    "0": "o", "1": "l", "|": "l",
})


def skeleton(host: str) -> str:
    """What a host looks like to a reader: confusable letters mapped, 'rn' read as 'm'."""
    return host.translate(CONFUSABLES).replace("rn", "m").replace("vv", "w")


def hosts(text: str) -> list[str]:
    """The host of every link in `text`, decoded from punycode, lower case."""
    found = []
    candidates = [m.group() for m in URL.finditer(text)]
    stripped = URL.sub(" ", text)
    candidates += [m.group(1) for m in BARE.finditer(stripped)]
    for candidate in candidates:
        candidate = candidate.rstrip(".,;:!?)")
        if not re.match(r"(?i)https?://", candidate):
            candidate = "http://" + candidate
        host = (urlsplit(candidate).hostname or "").rstrip(".")
        try:
            host = host.encode("ascii").decode("idna") if "xn--" in host else host
        except UnicodeError:
            pass
        if host:
            found.append(host.lower())
    return found


def _within(host: str, domain: str) -> bool:
    domain = domain.lower().lstrip(".")
    return host == domain or host.endswith("." + domain)


def problem_with(host: str, rules: LinkRules) -> str | None:
    """What is wrong with a link to `host` under `rules`, in words; None if nothing."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return "points to a bare IP address"
    except ValueError:
        pass
    if host in SHORTENERS or host in rules.extra_shorteners:
        return "uses a link shortener that hides where it goes"
    if any(_within(host, domain) for domain in rules.deny_domains):
        return "goes to a domain the school does not allow"
    allowed = [d for d in rules.allow_domains if _within(host, d)]
    for reference in (*rules.allow_domains, *WELL_KNOWN):
        if not _within(host, reference) and _within(skeleton(host), skeleton(reference.lower())):
            return f"imitates {reference}"
    if not host.isascii() and not allowed:
        return "uses an international domain name that is not on the school's allow-list"
    if rules.allow_domains and not allowed:
        return "goes to a domain that is not on the school's allow-list"
    return None


def check(submission: Submission, context: PolicyContext) -> list[Finding]:
    findings = []
    for label, text in public_fields(submission, context):
        for host in dict.fromkeys(hosts(text)):
            problem = problem_with(host, context.links)
            if problem:
                findings.append(RULE.finding(
                    f"a link in {label} ({host}) {problem}",
                    "Link directly to the page, on a site the school trusts; ask the "
                    "administrator to add the domain to links.allow_domains if it should be "
                    "allowed."))
    return findings


RULE = Rule("links", "st-marys.known-organisations", check)
