"""A governor opens one HTML file and reads what happened last term: the verification result
first, then charts and tables; nothing fetched, no scripts, and nothing the audit log never
holds (children's names, abusive text)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from daemon.cli.main import main
from tests.audit.term import write_term


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    return write_term(tmp_path_factory.mktemp("term"))


@pytest.fixture(scope="module")
def report(term, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "autumn-term.html"
    assert main(["audit", "report", "--html", str(out), "--state-dir", str(term),
                 "--since", "2026-09-01", "--until", "2026-12-19"]) == 0
    return out


def test_the_verification_result_comes_first(report):
    html = report.read_text()
    body = html.split("<body>", 1)[1]
    assert body.index('id="verification"') < body.index("<svg")
    # issue 18 asked for the banner in plain words; the auditor's sentence follows it
    assert 'class="verified" id="verification">The record is complete and unaltered' in html
    assert re.search(r'id="for-auditors">For auditors: VERIFIED: \d+ events in \d+ file', html)


def test_the_banner_speaks_plainly_and_the_hashes_are_for_auditors_below_it(report):
    html = report.read_text()
    banner = html.split('id="verification">', 1)[1].split("</p>", 1)[0]
    for jargon in ("hash", "VERIFIED", "checkpoint", "chain", "seq", "…"):
        assert jargon not in banner
    below = html.split('id="verification">', 1)[1]
    assert below.index('id="for-auditors"') < below.index("<h2>")
    auditors = below.split('id="for-auditors">', 1)[1].split("</p>", 1)[0]
    assert "chain head" in auditors and "signed checkpoint" in auditors


def test_the_report_gives_the_latest_signed_checkpoint_to_keep_and_compare(report, term):
    import json  # noqa: PLC0415

    from daemon.audit.chain import log_files  # noqa: PLC0415

    last = json.loads(log_files(term)[-1].read_text().splitlines()[-1])
    assert last["event"] == "audit.checkpoint"
    html = report.read_text()
    anchor = html.split('id="anchor">', 1)[1].split("</p>", 1)[0]
    assert f"checkpoint #{last['seq']} (hash {last['hash'][:16]}…)" in anchor


def test_the_report_is_self_contained(report):
    html = report.read_text()
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert not re.search(r'(src|href)="', html) and "@import" not in html and "url(" not in html


def test_the_report_has_every_section_a_governor_asks_for(report):
    html = report.read_text()
    for heading in ("Posts published and refused, per week", "Why posts were refused",
                    "Moderation of replies and comments", "Incidents",
                    "Followers and following", "Privacy settings",
                    "Handovers between administrators"):
        assert f"<h2>{heading}</h2>" in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart"') == 3
    assert "<td>Posts published</td><td>120</td>" in html
    assert "st-marys.no-full-names" in html and "full names of children" in html
    assert "INC-2026-0001" in html and "handover.finished" in html
    assert "comment hidden; author blocked from the Page" in html
    assert "<td>01" + "ab" * 7 + "</td>" in html  # evidence hash, checkable against the store


def test_a_report_on_a_tampered_log_says_so_at_the_top_and_exits_1(term, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(term, copy)
    live = copy / "audit.jsonl"
    live.write_text(live.read_text().replace('"Admin A (test)"', '"Someone Else"', 1))
    out = tmp_path / "report.html"
    assert main(["audit", "report", "--html", str(out), "--state-dir", str(copy)]) == 1
    html = out.read_text()
    # issue 18: the banner says what is wrong in plain words; the auditor's NOT VERIFIED line,
    # with the file and line, follows it
    assert ('class="failed" id="verification">The record is NOT complete and unaltered: an '
            "entry was changed after it was written.") in html
    assert 'id="for-auditors">For auditors: NOT VERIFIED:' in html
    assert "audit.jsonl, line " in html.split('id="for-auditors">', 1)[1]
    banner = html.split('id="verification">', 1)[1].split("</p>", 1)[0]
    assert "hash" not in banner and "line " not in banner


def test_a_red_report_says_what_to_do_next_who_to_tell_and_what_to_keep(term, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(term, copy)
    live = copy / "audit.jsonl"
    live.write_text("".join(live.read_text().splitlines(keepends=True)[:-3]))  # cut short
    out = tmp_path / "report.html"
    assert main(["audit", "report", "--html", str(out), "--state-dir", str(copy)]) == 1
    html = out.read_text()
    banner = html.split('id="verification">', 1)[1].split("</p>", 1)[0]
    assert banner.startswith("The record is NOT complete and unaltered: its end is not "
                             "sealed")
    next_steps = html.split('id="what-to-do">', 1)[1].split("<h2>", 1)[0]
    assert next_steps.startswith("<strong>What to do next.</strong>")
    for needed in ("Tell Steward&#39;s administrator", "chair of governors", "Keep this report",
                   "audit.jsonl", "audit-archive/", "audit-tampered/", "Do not delete",
                   "--open-tail"):
        assert needed in next_steps, needed
    assert html.index('id="what-to-do"') < html.index("<h2>In figures</h2>")


def test_a_green_report_has_nothing_to_do(report):
    assert 'id="what-to-do"' not in report.read_text()


def test_a_report_written_without_the_key_says_to_write_it_again_with_the_key(tmp_path):
    page = one_incident_report(tmp_path, [], keys=[])
    banner = page.split('id="verification">', 1)[1].split("</p>", 1)[0]
    assert banner == ("The record could not be checked: this report was written without "
                      "Steward&#39;s public key.")
    next_steps = page.split('id="what-to-do">', 1)[1].split("<h2>", 1)[0]
    assert "--key" in next_steps and "steward audit pubkey" in next_steps


def test_refusals_are_counted_by_rules_named_in_plain_english(report):
    html = report.read_text()
    chart = html.split("<title>Refusals by rule</title>", 1)[1].split("</svg>", 1)[0]
    assert "Pupils&#39; names" in chart and "Location data in pictures" in chart
    assert "SLT approval" in chart
    assert "pupil-names" not in html and "location-metadata" not in html


def test_a_rule_without_a_plain_name_is_shown_by_what_it_checks_or_by_its_id():
    from daemon.audit.report import RULE_NAMES, rule_name  # noqa: PLC0415
    from policies.clauses import RULE_DEFAULTS  # noqa: PLC0415

    named = {rule.id for rule in RULE_DEFAULTS} - set(RULE_NAMES)
    if named:  # a rule added without a plain name still reads as a sentence
        some = next(rule for rule in RULE_DEFAULTS if rule.id in named)
        assert rule_name(some.id) == some.what[0].upper() + some.what[1:]
    assert rule_name("a-rule-of-a-later-release") == "a-rule-of-a-later-release"


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(chromium() is None, reason="chromium is not installed (Debian package "
                    "`chromium`; scripts/install-system-packages installs it as root)")
def test_the_report_renders_in_headless_chromium_with_its_charts(report, tmp_path):
    from PIL import Image  # noqa: PLC0415

    from daemon.audit.report import ACTION_COLOUR, PUBLISHED_COLOUR, REFUSED_COLOUR  # noqa: PLC0415

    screenshot = tmp_path / "report.png"
    completed = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--no-first-run", "--window-size=900,3000", f"--screenshot={screenshot}",
         f"--user-data-dir={tmp_path / 'profile'}", report.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert screenshot.exists(), completed.stderr[-2000:]
    image = Image.open(screenshot).convert("RGB")
    counts = {colour: count for count, colour in image.getcolors(image.width * image.height)}

    def pixels(hex_colour: str) -> int:
        return counts.get(tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)), 0)

    assert pixels(PUBLISHED_COLOUR) > 5000, "the per-week chart's published bars are missing"
    assert pixels(REFUSED_COLOUR) > 2000, "the refused bars (per week, by rule) are missing"
    assert pixels(ACTION_COLOUR) > 2000, "the moderation chart is missing"
    assert pixels("#2e7d32") > 500, "the green 'verified' box is missing"


SCRIPT_HANDLE = "<script>alert(1)</script>"
IMAGE_HANDLE = '"><img src=x onerror=alert(1)>'


def hostile_report(tmp_path, **options) -> str:
    """A report on a log whose follower handles and reasons were written by strangers."""
    from datetime import UTC, datetime  # noqa: PLC0415
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from daemon.audit.chain import AuditLog  # noqa: PLC0415
    from daemon.audit.reading import read_events  # noqa: PLC0415
    from daemon.audit.report import render_report  # noqa: PLC0415
    from daemon.audit.verification import ordered_files, verify_chain  # noqa: PLC0415
    from daemon.runtime.clock import FixedClock  # noqa: PLC0415

    clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    audit = AuditLog(tmp_path / "audit.jsonl", clock)
    audit.record("follower.removed", platform="x", handle=SCRIPT_HANDLE, user_id="1",
                 clause="st-marys.verified-followers")
    audit.record("following.unfollowed", platform="x", handle=IMAGE_HANDLE, user_id="2",
                 reason=IMAGE_HANDLE)
    audit.record("submission.refused", name=SCRIPT_HANDLE, rules=[IMAGE_HANDLE],
                 clauses=[SCRIPT_HANDLE], reasons=1)
    audit.close()
    files = ordered_files([tmp_path])
    return render_report(read_events(files), verify_chain(files, []), school=IMAGE_HANDLE,
                         zone=ZoneInfo("Europe/London"), generated=clock.now(), **options)


def test_handles_written_by_strangers_appear_escaped_never_as_markup(tmp_path):
    page = hostile_report(tmp_path)
    assert "<script" not in page and "<img" not in page and "onerror=alert(1)>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    from html.parser import HTMLParser  # noqa: PLC0415

    class Tags(HTMLParser):
        found: set[tuple[str, str]] = set()

        def handle_starttag(self, tag, attrs):
            self.found |= {(tag, name) for name, _ in attrs} | {(tag, "")}

    tags = Tags()
    tags.feed(page)
    assert {tag for tag, _ in tags.found} <= {"html", "head", "meta", "title", "style", "body",
                                               "h1", "h2", "p", "table", "tr", "th", "td",
                                               "svg", "line", "text", "rect", "strong", "code"}
    assert not {name for _, name in tags.found} & {"src", "href", "onerror", "onload"}


def test_the_report_shows_the_school_s_clause_titles_and_texts(tmp_path):
    from policies.clauses import Clause, ClauseCatalogue  # noqa: PLC0415

    oakfield = ClauseCatalogue.of([Clause(
        "oakfield.followers", "Only parents we know follow us",
        "Followers are accepted once the office has checked their e-mail address.",
        "Oakfield Primary School online safety policy, 6.1")],
        {"followers": "oakfield.followers"})
    audit_dir = tmp_path / "log"
    audit_dir.mkdir()
    from daemon.audit.chain import AuditLog  # noqa: PLC0415

    audit = AuditLog(audit_dir / "audit.jsonl")
    audit.record("submission.refused", name="news", rules=["followers"],
                 clauses=["oakfield.followers"], reasons=1)
    audit.close()
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from daemon.audit.reading import read_events  # noqa: PLC0415
    from daemon.audit.report import render_report  # noqa: PLC0415
    from daemon.audit.verification import ordered_files, verify_chain  # noqa: PLC0415
    from daemon.runtime.clock import Clock  # noqa: PLC0415

    files = ordered_files([audit_dir])
    page = render_report(read_events(files), verify_chain(files, []), school="Oakfield",
                         zone=ZoneInfo("Europe/London"), generated=Clock().now(),
                         clauses=oakfield)
    assert "<th>Title</th>" in page
    assert ("<tr><td>oakfield.followers</td><td>Only parents we know follow us</td><td>1</td>"
            "<td>Oakfield Primary School online safety policy, 6.1: &#34;Followers are "
            "accepted once the office has checked their e-mail address.&#34;</td></tr>") in page


def one_incident_report(tmp_path, later, keys=None) -> str:
    """A report on a log holding incident INC-2026-0001 and then the events `later` (name,
    fields), signed, and verified with the key unless `keys` says otherwise."""
    from datetime import UTC, datetime  # noqa: PLC0415
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from daemon.audit.chain import AuditLog  # noqa: PLC0415
    from daemon.audit.reading import read_events  # noqa: PLC0415
    from daemon.audit.report import render_report  # noqa: PLC0415
    from daemon.audit.verification import ordered_files, verify_chain  # noqa: PLC0415
    from daemon.runtime.clock import FixedClock  # noqa: PLC0415
    from daemon.runtime.keys import audit_signing_key, public_key_text  # noqa: PLC0415

    clock = FixedClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    key = audit_signing_key(tmp_path)
    audit = AuditLog(tmp_path / "audit.jsonl", clock, signing_key=key)
    for number in ("INC-2026-0001", "INC-2026-0002"):
        audit.record("incident.recorded", clause="loughton.incident-log", incident=number,
                     platform="x", reply="R1", nature="threat", action_taken="reply hidden",
                     reported_to="head teacher, e-safety lead", evidence_sha256="ab" * 32)
    for name, fields in later:
        clock.advance(3600)
        audit.record(name, **fields)
    audit.close()
    files = ordered_files([tmp_path])
    return render_report(read_events(files), verify_chain(
        files, [public_key_text(key)] if keys is None else keys),
        school="Oakfield", zone=ZoneInfo("Europe/London"), generated=clock.now())


def incident_rows(page: str) -> dict[str, list[str]]:
    """The incidents table, by incident number: each row's cells."""
    table = page.split("<h2>Incidents</h2>", 1)[1].split("</table>", 1)[0]
    rows = [re.findall(r"<t[dh]>(.*?)</t[dh]>", row) for row in table.split("<tr>")[1:]]
    return {row[0]: row for row in rows}


def test_each_incident_shows_its_outcome_open_closed_or_restored(tmp_path):
    page = one_incident_report(tmp_path, [
        ("incident.closed", {"incident": "INC-2026-0001", "by": "dsl",
                             "outcome": "Parent spoken to; account reported to X",
                             "clause": "loughton.incident-log"}),
        ("moderation.restored", {"platform": "x", "reply": "R2", "incident": "INC-2026-0002",
                                 "undone": ["unhidden"]})])
    rows = incident_rows(page)
    assert rows["Incident"][-2:] == ["Outcome", "Evidence (SHA-256, first 16)"]
    assert rows["INC-2026-0001"][-2] == ("Parent spoken to; account reported to X (closed "
                                         "2026-11-23 10:00 by dsl)")
    assert rows["INC-2026-0002"][-2] == "restored: wrongly flagged (unhidden)"


def test_an_incident_nobody_has_closed_is_open(tmp_path):
    rows = incident_rows(one_incident_report(tmp_path, []))
    assert rows["INC-2026-0001"][-2] == "open"


def test_a_log_put_back_whole_after_tampering_is_amber_with_what_to_do():
    from daemon.audit.plain_verdict import plain_verdict  # noqa: PLC0415
    from daemon.audit.verification import ChainReport  # noqa: PLC0415

    verdict = plain_verdict(ChainReport(events=12, checkpoints=1, last_checkpoint={
        "seq": 11, "timestamp": "2026-11-23T09:00:00.000+00:00", "prev": "0" * 64},
        tampering=["2026-11-23T08:00:00, event #5: audit.jsonl was deleted"]))
    assert verdict.colour == "warning"
    assert verdict.headline == ("The record is complete and unaltered, but someone tampered "
                                "with it: Steward noticed once and put it back whole.")
    assert any("chair of governors" in step for step in verdict.next_steps)


def test_every_problem_the_banner_knows_is_one_the_verifier_still_says():
    """The banner tells problems apart by the verifier's words: a reworded message there
    must be reworded here too, or its banner would fall back to the vaguer sentence."""
    from pathlib import Path  # noqa: PLC0415

    import daemon.audit.verification as verification  # noqa: PLC0415
    from daemon.audit.plain_verdict import PROBLEMS  # noqa: PLC0415

    source = " ".join(Path(verification.__file__).read_text().replace('"\n', "").split())
    source = source.replace('" "', "")  # the verifier's messages, joined as Python joins them
    assert [phrase for phrase, _ in PROBLEMS if phrase not in source] == []


def test_the_report_shows_what_x_cost_month_by_month_and_the_dearest_operations(report):
    html = report.read_text(encoding="utf-8")
    assert "Platform API spend (US$)" in html and "x 2026-09 $0.75" in html
    assert "x GET /2/users/{id}/followers $" in html


def test_the_report_counts_consent_takedowns_and_how_long_they_took():
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from daemon.audit.report import takedown_figure, tally  # noqa: PLC0415

    events = [{"event": "takedown.done", "timestamp": "2026-12-01T09:00:00+00:00",
               "seconds": seconds} for seconds in (12.0, 40.0, 90000.0)]
    counts = tally(events, ZoneInfo("Europe/London"))
    assert counts.takedowns == [12.0, 40.0, 90000.0]
    assert takedown_figure(counts.takedowns).startswith(
        "3 takedowns: typically 40 s, the longest 25.0 h")
    assert takedown_figure([]) == "none"
