"""Links go only where the school means them to: allowed (or not denied) domains, no URL
shorteners that hide the target, no IP addresses, no look-alike domains (punycode and
homoglyphs are decoded and compared with the allowed and well-known domains).

A link is read the way a browser reads it (the WHATWG URL standard), because that is where a
reader who clicks it ends up: backslashes count as slashes ("https:\\\\evil.example"), a host may
be percent-encoded ("%62it.ly"), ideographic and full-width full stops separate labels
("bit。ly"), and a number is an IPv4 address in any of its forms (2130706433, 0x7f000001,
0177.0.0.1, 127.1). A user name before the host ("https://trusted.example@evil.example/")
is refused outright: it exists to make a link look as if it goes somewhere it does not. Host
names are mapped and checked with IDNA (UTS #46, the `idna` package) before any comparison.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import disarm
import idna

from policies.displayed_text import as_displayed
from policies.fields import public_fields
from policies.findings import Finding, LinkRules, PolicyContext, Rule
from policies.submission import Submission

_TAIL = r"[^\s<>\"']+"
SCHEME_URL = re.compile(r"(?i)\bhttps?:[/\\]*" + _TAIL)
WWW_URL = re.compile(r"(?i)(?<![\w@.\\/-])www\." + _TAIL)
TLDS = (r"com|org|net|uk|gov|edu|io|info|co|me|ly|gl|gd|to|tv|xyz|app|dev|link|page|site")
# A bare domain: one with a well-known top-level domain, or any domain followed by a path
# ("freegames.example/play"), in any alphabet ("раypal.com" with a Cyrillic 'а').
BARE = re.compile(
    r"(?i)(?<![@\w./\\-])((?:[^\W_][\w-]*\.)+(?:(?:" + TLDS + r")\b(?:[/?#][^\s<>\"']*)?"
    r"|[^\W\d_]{2,63}/[^\s<>\"']*))")
FULL_STOPS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
CLOSING = {")": "(", "]": "[", "}": "{"}
SHORTENERS = frozenset({
    "bit.ly", "bitly.com", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "buff.ly", "is.gd",
    "tiny.cc", "rb.gy", "cutt.ly", "shorturl.at", "rebrand.ly", "lnkd.in", "t.ly", "s.id",
    "bl.ink", "soo.gd", "v.gd", "qr.ae", "adf.ly", "shorte.st", "tr.im", "x.co", "y2u.be",
    "youtu.be", "fb.me", "trib.al", "dlvr.it", "ift.tt", "surl.li", "shorturl.com", "tiny.one",
})
WELL_KNOWN = ("gov.uk", "nhs.uk", "bbc.co.uk", "google.com", "microsoft.com", "facebook.com",
              "x.com", "twitter.com", "youtube.com", "paypal.com", "apple.com", "amazon.co.uk",
              "parentpay.com", "scopay.com", "arbor-education.com")
USER_NAME = ("has a name before an '@' ahead of the site's address, which makes it look as if it "
             "goes somewhere else")
IP_ADDRESS = "points to a bare IP address"
INVALID = "has a site address that is not valid"


@dataclass(frozen=True)
class Link:
    """A link found in text: its host as a browser would reach it ("" if it has none), and
    what is wrong with the link itself whatever the school's lists say (None if nothing)."""

    host: str
    problem: str | None = None


def skeleton(host: str) -> str:
    """What a host looks like to a reader: Unicode TR39 look-alikes folded (the skeleton the
    pupil-name check uses too), 'rn' read as 'm', 'vv' as 'w'."""
    return disarm.skeleton_key(host, digit_policy="tr39").replace("rn", "m").replace("vv", "w")


def _trimmed(candidate: str) -> str:
    """The candidate without the punctuation that ends a sentence or closes a bracket opened
    before the link: 'https://x.com/a).' -> 'https://x.com/a'."""
    while candidate:
        last = candidate[-1]
        if last in ".,;:!?'\"":
            candidate = candidate[:-1]
        elif last in CLOSING and candidate.count(last) > candidate.count(CLOSING[last]):
            candidate = candidate[:-1]
        else:
            break
    return candidate


def _ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a browser reads in `host` (WHATWG's IPv4 parser: 1 to 4 parts, each
    decimal, 0x-hexadecimal or 0-octal, the last filling the remaining bytes); None if `host`
    does not end in a number. Raise ValueError if it ends in a number but is no address."""
    parts = host.split(".")
    if not re.fullmatch(r"(?i)\d+|0x[0-9a-f]*", parts[-1]):
        return None
    if len(parts) > 4:
        raise ValueError(host)
    numbers = []
    for part in parts:
        if re.fullmatch(r"(?i)0x[0-9a-f]*", part):
            numbers.append(int(part[2:] or "0", 16))
        elif re.fullmatch(r"0[0-7]+", part):
            numbers.append(int(part, 8))
        elif re.fullmatch(r"\d+", part):
            numbers.append(int(part))
        else:
            raise ValueError(host)
    *leading, last = numbers
    if any(number > 255 for number in leading) or last >= 256 ** (5 - len(numbers)):
        raise ValueError(host)
    value = last
    for position, number in enumerate(leading):
        value += number << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def _host_name(host: str) -> Link:
    """Map, validate and decode a host name with IDNA (UTS #46): 'BIT。LY.' -> 'bit.ly',
    'xn--pypal-4ve.com' -> 'pаypal.com' (shown as it reads, so look-alikes can be compared)."""
    try:
        host = idna.uts46_remap(host, std3_rules=False, transitional=False).rstrip(".")
    except idna.IDNAError:
        return Link(host, INVALID)
    try:
        address = _ipv4(host)
    except ValueError:
        return Link(host, INVALID)
    if address is not None:
        return Link(str(address), IP_ADDRESS)
    if not host or any(not label for label in host.split(".")):
        return Link(host, INVALID)
    if host.isascii() and "xn--" not in host:
        return Link(host)  # no Unicode to validate; underscores and the like are allowed
    try:
        return Link(idna.decode(idna.encode(host)))
    except (idna.IDNAError, UnicodeError):
        return Link(host, INVALID)


def read_link(candidate: str) -> Link:
    """Read one link as a browser would (see the module docstring)."""
    candidate = re.sub(r"(?i)^(https?):[/\\]*", r"\1://", candidate)
    if "://" not in candidate:
        candidate = "http://" + candidate
    try:
        authority = urlsplit(candidate.replace("\\", "/")).netloc
    except ValueError:
        return Link("", INVALID)
    user_name = "@" in authority
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        literal = unquote(host[1:host.find("]")] if "]" in host else host[1:])
        try:
            address = ipaddress.IPv6Address(literal.split("%")[0])
        except ValueError:
            return Link(f"[{literal}]", INVALID)
        shown = f"::ffff:{address.ipv4_mapped}" if address.ipv4_mapped else address.compressed
        return Link(f"[{shown}]", USER_NAME if user_name else IP_ADDRESS)
    found = _host_name(unquote(host.partition(":")[0]))
    if user_name:
        return Link(found.host, USER_NAME)
    return found


def _candidates(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).translate(FULL_STOPS)
    found = []
    for pattern in (SCHEME_URL, WWW_URL):
        found += [match.group() for match in pattern.finditer(text)]
        text = pattern.sub(" ", text)
    found += [match.group(1) for match in BARE.finditer(text)]
    return [_trimmed(candidate) for candidate in found]


def links(text: str) -> list[Link]:
    """Every link in `text`, read as written and as displayed (a right-to-left override can
    show a different link than the one written), each once."""
    found: dict[Link, None] = {}
    for version in dict.fromkeys((text, as_displayed(text))):
        for candidate in _candidates(version):
            found.setdefault(read_link(candidate))
    return [link for link in found if link.host or link.problem]


def hosts(text: str) -> list[str]:
    """The host of every link in `text`, as a browser would reach it: lower case, IDNA-mapped,
    decoded from punycode, an IP address in its usual form."""
    return list(dict.fromkeys(link.host for link in links(text) if link.host))


def _within(host: str, domain: str) -> bool:
    domain = domain.lower().lstrip(".")
    return host == domain or host.endswith("." + domain)


def problem_with(host: str, rules: LinkRules) -> str | None:
    """What is wrong with a link to `host` under `rules`, in words; None if nothing."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return IP_ADDRESS
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
        for link in links(text):
            problem = link.problem or problem_with(link.host, context.links)
            if problem:
                shown = f" ({link.host})" if link.host else ""
                findings.append(RULE.finding(
                    f"a link in {label}{shown} {problem}",
                    "Link directly to the page, on a site the school trusts, written as it "
                    "appears in the browser's address bar (https://site/page); ask the "
                    "administrator to add the domain to links.allow_domains if it should be "
                    "allowed."))
    return findings


RULE = Rule("links", "st-marys.known-organisations", check)
