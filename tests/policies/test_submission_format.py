"""Reading submissions: every malformed input becomes a reason, never a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.posts.reading import read_submission
from policies.platforms import x_weighted_length


def read(tmp_path, content: bytes | str, name: str = "post"):
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    (folder / "post.md").write_bytes(data)
    return read_submission(folder, "Europe/London", 256 * 1024)


def test_reads_local_times_in_the_school_time_zone_across_daylight_saving(tmp_path):
    summer = read(tmp_path, '+++\npublish_at = "2026-07-01T09:00"\n+++\nSummer.\n', "summer")
    winter = read(tmp_path, '+++\npublish_at = "2026-12-01T09:00"\n+++\nWinter.\n', "winter")
    assert summer.publish_at == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert winter.publish_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_accepts_native_toml_datetimes(tmp_path):
    submission = read(tmp_path, "+++\npublish_at = 2026-12-01T09:00:00\n+++\nNative.\n")
    assert submission.publish_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_says_which_byte_is_not_utf8(tmp_path):
    submission = read(tmp_path, "+++\n+++\nCaf\u00e9\n".encode("latin-1"))
    [problem] = submission.problems
    assert "not UTF-8" in problem.problem and "position 11" in problem.problem


def test_accepts_windows_line_endings_and_a_byte_order_mark(tmp_path):
    submission = read(tmp_path, "\ufeff+++\r\nplatforms = ['x']\r\n+++\r\nHello.\r\n")
    assert submission.problems == () and submission.text == "Hello."


def test_refuses_an_oversized_post_unread(tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "post.md").write_bytes(b"+++\n+++\n" + b"a" * 300_000)
    [problem] = read_submission(folder, "Europe/London", 256 * 1024).problems
    assert "more than the 262,144 allowed" in problem.problem


def test_a_single_file_post_cannot_carry_images(tmp_path):
    path = tmp_path / "notice.md"
    path.write_text('+++\n[[images]]\nfile = "x.png"\nalt = "x"\n+++\nText.\n')
    submission = read_submission(path, "Europe/London", 10**6)
    assert any("single-file post cannot carry images" in p.problem for p in submission.problems)


def test_counts_x_length_as_x_does():
    assert x_weighted_length("a" * 10) == 10
    assert x_weighted_length("see https://example.org/" + "x" * 100) == 4 + 23
    assert x_weighted_length("\u4f60\u597d") == 4


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_never_crashes_on_arbitrary_bytes(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "post.md").write_bytes(data)
    submission = read_submission(folder, "Europe/London", 256 * 1024)
    assert submission.problems or submission.text or submission.images is not None


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["publish_at", "platforms", "images", "text", "extra"]),
                       st.one_of(st.text(max_size=30), st.integers(), st.booleans(),
                                 st.lists(st.text(max_size=10), max_size=3),
                                 st.lists(st.dictionaries(st.sampled_from(["file", "alt", "x"]),
                                                          st.text(max_size=10)), max_size=3),
                                 st.dictionaries(st.text(max_size=5), st.text(max_size=10))),
                       max_size=5),
       st.text(max_size=200))
def test_never_crashes_on_arbitrary_front_matter(tmp_path_factory, front, body):
    lines = [f"{key} = {_toml(value)}" for key, value in front.items()]
    content = "+++\n" + "\n".join(lines) + "\n+++\n" + body
    folder = tmp_path_factory.mktemp("front")
    (folder / "post.md").write_bytes(content.encode("utf-8", "replace"))
    submission = read_submission(folder, "Europe/London", 256 * 1024)
    assert isinstance(submission.problems, tuple)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return json.dumps(value)


def test_a_consent_register_with_a_bad_row_names_the_row_not_the_pupil():
    import pytest  # noqa: PLC0415

    from policies.consent_register import parse_consent_register  # noqa: PLC0415
    from policies.roster import RosterError  # noqa: PLC0415

    with pytest.raises(RosterError) as caught:
        parse_consent_register("Pupil,Photo Consent,Restricted\nJane Smith,yes,no\n"
                               "Tom Brown,maybe,no\n")
    assert "row 3" in str(caught.value) and "Tom" not in str(caught.value)


def test_a_roster_with_a_missing_column_says_how_to_configure_it():
    import pytest  # noqa: PLC0415

    from policies.roster import RosterError, parse_roster  # noqa: PLC0415

    with pytest.raises(RosterError, match="no column 'Surname'.*pupils.surname_column"):
        parse_roster("First Name,Family name\nJane,Smith\n")
