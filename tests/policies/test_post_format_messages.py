"""What an SLT member is told about a badly written post: one plain message per mistake, never a
cascade of findings that all follow from the first (issue 18, section 2)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config.settings import StewardSettings
from daemon.posts.assessment import assess
from daemon.posts.reading import read_submission

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def write(tmp_path, front_matter: str, name: str = "post"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "post.md").write_text(f"+++\n{front_matter}\n+++\nThe choir sings on Friday.\n",
                                    encoding="utf-8")
    return folder


def judged(tmp_path, front_matter: str):
    settings = StewardSettings(paths={"state_dir": tmp_path / "state"})
    return assess(write(tmp_path, front_matter), settings, NOW)


def test_refuses_a_quoted_date_without_a_time(tmp_path):
    [problem] = read_submission(write(tmp_path, 'publish_at = "2026-11-23"'), "Europe/London",
                                10**6).problems
    assert "has a date but no time" in problem.problem
    assert "2026-11-23T09:00" in problem.fix


def test_refuses_an_unquoted_date_without_a_time(tmp_path):
    [problem] = read_submission(write(tmp_path, "publish_at = 2026-11-23"), "Europe/London",
                                10**6).problems
    assert "has a date but no time" in problem.problem


def test_says_a_time_without_a_date_has_no_date(tmp_path):
    [problem] = read_submission(write(tmp_path, "publish_at = 09:00:00"), "Europe/London",
                                10**6).problems
    assert "a time but no date" in problem.problem


@pytest.mark.parametrize("written", ["09:00", "2026-11-23T9:00", "2026-11-23 09:00",
                                     "2026-11-23T09:00+1"])
def test_an_unquoted_time_gives_one_plain_message(tmp_path, written):
    result = judged(tmp_path, f"publish_at = {written}")
    [finding] = result.findings
    assert finding.rule == "submission-format"
    assert "publish_at" in finding.problem and "quotes" in finding.problem
    assert "TOML" not in finding.problem and "column" not in finding.problem
    assert 'publish_at = "2026-11-23T09:00"' in finding.fix


def test_names_the_line_of_other_settings_that_cannot_be_read(tmp_path):
    result = judged(tmp_path, 'platforms = ["x"]\npictured = Jane')
    [finding] = result.findings
    assert "line 3" in finding.problem and "pictured = Jane" in finding.problem


def test_a_post_that_cannot_be_read_gets_no_findings_that_follow_from_it(tmp_path):
    folder = tmp_path / "no-front-matter"
    folder.mkdir()
    (folder / "post.md").write_text("The choir sings on Friday.\n", encoding="utf-8")
    result = assess(folder, StewardSettings(paths={"state_dir": tmp_path / "state"}), NOW)
    assert [finding.rule for finding in result.findings] == ["submission-format"]
