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
    assert re.search(r'class="verified" id="verification">VERIFIED: \d+ events in \d+ file',
                     html)


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
    assert 'class="failed" id="verification">NOT VERIFIED:' in out.read_text()


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
