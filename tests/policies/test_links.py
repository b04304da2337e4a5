"""Links are read the way a browser reads them before the school's lists are applied
(security issue, finding 10): user names before the host, IP addresses in any form, IDNA
mapping of host names, backslashes, percent-encoding, links without a scheme. One post per
bypass is in tests/samples/links; these tests pin what the findings say."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from policies.findings import LinkRules, PolicyContext
from policies.links import check, hosts, links
from policies.moderation.classifier import ModerationRules, classify
from policies.submission import Submission

SCHOOL = LinkRules(allow_domains=("oakfield.sch.uk", "gov.uk"))
ANY_SITE = LinkRules()


def problems(text: str, rules: LinkRules = ANY_SITE) -> list[str]:
    context = PolicyContext(
        now=datetime(2026, 11, 22, 9, 0, tzinfo=UTC), time_zone="Europe/London",
        enabled_platforms=("x",), max_images={"x": 4}, max_text_length={"x": 280},
        max_media_bytes=1024, grace_minutes=60, approvals_required=1, links=rules)
    return [finding.problem for finding in check(Submission(name="post", text=text), context)]


@pytest.mark.parametrize("link", [
    "https://www.oakfield.sch.uk@evil.example/forms", "https://office:letmein@evil.example/",
    "https://www.oakfield.sch.uk%40evil.example@evil.example/", "www.oakfield.sch.uk@evil.example",
])
def test_refuses_a_user_name_before_the_site_without_repeating_it(link):
    [problem] = problems(f"Forms: {link}", SCHOOL)
    assert problem == ("a link in the text (evil.example) has a name before an '@' ahead of the "
                       "site's address, which makes it look as if it goes somewhere else")
    assert "letmein" not in problem and "office" not in problem


@pytest.mark.parametrize("link", [
    "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/", "http://127.1/",
    "http://0x7f.1/", "http://127.0.0.1./", "http://%31%32%37.0.0.1/",
])
def test_reads_every_form_of_an_ipv4_address(link):
    assert problems(f"Forms: {link}") == [
        "a link in the text (127.0.0.1) points to a bare IP address"]


@pytest.mark.parametrize("link, shown", [
    ("http://[::1]/", "[::1]"), ("http://[::ffff:127.0.0.1]/", "[::ffff:127.0.0.1]"),
    ("http://[2001:DB8:0::7]:8080/", "[2001:db8::7]"),
])
def test_refuses_ipv6_addresses(link, shown):
    assert problems(f"Forms: {link}") == [f"a link in the text ({shown}) points to a bare IP address"]


@pytest.mark.parametrize("link", [
    "bit\u3002ly/3xYz", "https://bit\u3002ly/3xYz", "https://bit\uff0ely/3xYz", "https://BIT.LY./3xYz",
    "https://%62it.ly/3xYz", "https://ｂｉｔ.ｌｙ/3xYz", "https:\\\\bit.ly\\3xYz", "https:/bit.ly/3xYz",
])
def test_normalises_the_host_before_looking_for_shorteners(link):
    assert problems(f"Forms: {link}") == [
        "a link in the text (bit.ly) uses a link shortener that hides where it goes"]


def test_a_backslash_is_a_slash_as_in_a_browser():
    assert problems("Forms: https://evil.example\\@www.oakfield.sch.uk/", SCHOOL) == [
        "a link in the text (evil.example) goes to a domain that is not on the school's "
        "allow-list"]


def test_the_deny_list_sees_through_full_width_full_stops():
    assert problems("See www.casino\uff0eexample/games", LinkRules(deny_domains=("casino.example",))) \
        == ["a link in the text (www.casino.example) goes to a domain the school does not allow"]


def test_finds_links_without_a_scheme_in_any_alphabet():
    assert hosts("Games at freegames.example/play") == ["freegames.example"]
    assert problems("Pay at р\u0430ypal.com/school") == [
        "a link in the text (раypal.com) imitates paypal.com"]


def test_refuses_a_host_name_that_is_not_valid():
    assert problems("See https://a..example/ and https://xn--zz.com/") == [
        "a link in the text (a..example) has a site address that is not valid",
        "a link in the text (xn--zz.com) has a site address that is not valid"]


def test_reads_a_link_reversed_by_a_right_to_left_override_as_shown():
    assert "evil.example" in hosts("Forms: \u202eelpmaxe.live//:sptth\u202c")


@pytest.mark.parametrize("text", [
    "Doors open at 5.30pm, e.g. for Year 3 (i.e. Class 3.1); 2.5 litres; a.m./p.m.",
    "E-mail office@oakfield.sch.uk", "Well done.Next week: sports day", "Score 3.1/4 in maths",
])
def test_ordinary_text_has_no_links(text):
    assert links(text) == []


def test_the_schools_own_site_is_allowed_however_it_is_written():
    for text in ("HTTPS://WWW.OAKFIELD.SCH.UK./news", "www.oakfield.sch.uk:443/term",
                 "https://www\u3002oakfield\u3002sch\u3002uk/news",
                 "[dates](https://www.gov.uk/school-term-holiday-dates)."):
        assert problems(text, SCHOOL) == [], text


def test_moderation_sees_a_numeric_address_in_a_reply():
    verdict = classify("free stuff at http://2130706433/", ModerationRules())
    assert "suspicious-link" in verdict.reasons
