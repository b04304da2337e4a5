"""Pupils' names and personal data stay out of posts, and out of Steward's own records."""

from __future__ import annotations

import shutil
from pathlib import Path

from daemon.cli.main import main
from tests.daemon.harness import write_post

SAMPLE_ROSTER = Path(__file__).resolve().parent.parent / "samples" / "roster.csv"


def test_refuses_a_post_naming_a_pupil_without_repeating_the_name(steward):
    shutil.copy(SAMPLE_ROSTER, steward.state_dir / "roster.csv")
    steward.post("star-of-the-week", "Star of the week: #MaryJaneMcDonald!")
    report = steward.wait_for_refusal("star-of-the-week")
    assert "names a pupil (full name" in report and "full names of children" in report
    assert "McDonald" not in report and "Mary Jane" not in report
    audit = (steward.state_dir / "audit.jsonl").read_text()
    assert "McDonald" not in audit and "Mary Jane" not in audit
    [refusal] = steward.events_named("submission.refused")
    assert refusal["rules"] == ["pupil-names"] and refusal["clauses"] == ["st-marys.no-full-names"]


def test_a_broken_roster_stops_posts_and_names_the_row_for_the_administrator(steward):
    (steward.state_dir / "roster.csv").write_text("First Name,Surname\nJane,Smith\n,Brown\n")
    steward.post("any-post", "A post while the roster is broken.")
    report = steward.wait_for_refusal("any-post")
    assert "roster row 3 has no first name" in report and "Brown" not in report


def test_check_says_when_names_were_not_checked(tmp_path, capsys):
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{tmp_path / "state"}"\n')
    post = write_post(tmp_path / "draft", "Hello.")
    main(["check", str(post), "--config", str(config)])
    assert "pupils' names were NOT checked" in capsys.readouterr().out


def test_check_refuses_personal_data_and_hidden_links(tmp_path, capsys):
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{tmp_path / "state"}"\n'
                      '[links]\nallow_domains = ["oakfield.sch.uk"]\n')
    post = write_post(tmp_path / "draft", "Call 07700 900123 or see bit.ly/x1 and "
                      "https://oakfie1d.sch.uk/pay")
    assert main(["check", str(post), "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "contains a phone number" in out
    assert "(bit.ly) uses a link shortener" in out
    assert "(oakfie1d.sch.uk) imitates oakfield.sch.uk" in out


SAMPLE_CONSENT = SAMPLE_ROSTER.with_name("consent.csv")


def test_photos_need_consent_for_every_pupil_pictured(steward):
    shutil.copy(SAMPLE_CONSENT, steward.state_dir / "consent.csv")
    steward.post("no-consent", "Planting day.", images=1, pictured=["Jane Smith", "Zoe O'Brien"])
    report = steward.wait_for_refusal("no-consent")
    assert "the 2nd pupil listed under pictured has no photo consent" in report
    assert "O'Brien" not in report and "Zoe" not in report
    steward.post("with-consent", "Planting day, take two.", images=1, pictured=["Jane Smith"])
    assert steward.wait_for_status("with-consent")


def test_photos_must_say_who_is_pictured(steward):
    folder = write_post(steward.drafts / "undeclared", "Who is this?", publish_at=steward.soon())
    (folder / "post.md").write_text((folder / "post.md").read_text().replace(
        "+++\n", '+++\n[[images]]\nfile = "p.png"\nalt = "A class photo"\n', 1))
    from daemon.posts.sample_images import png_image  # noqa: PLC0415

    (folder / "p.png").write_bytes(png_image())
    steward.submit(folder)
    report = steward.wait_for_refusal("undeclared")
    assert "does not say which pupils are pictured" in report


def _post_with_face(steward, name: str):
    from tests.media import photo_with_face  # noqa: PLC0415

    folder = write_post(steward.drafts / name, "Our new reading corner.", publish_at=steward.soon(),
                        extra_front_matter='[[images]]\nfile = "corner.jpg"\nalt = "The corner"')
    (folder / "corner.jpg").write_bytes(photo_with_face(200))
    steward.submit(folder)


def test_refuses_a_photo_showing_a_face_by_default(steward):
    _post_with_face(steward, "face")
    report = steward.wait_for_refusal("face")
    assert "image 1 appears to show 1 face" in report and "identified by face" in report


def test_blurs_faces_when_the_school_chooses_blurring(tmp_path):
    from daemon.posts.face_detection import count_faces  # noqa: PLC0415
    from tests.daemon.harness import StewardUnderTest  # noqa: PLC0415

    steward = StewardUnderTest(tmp_path)
    steward.settings.faces.policy = "blur"
    steward.start()
    try:
        _post_with_face(steward, "blurred")
        assert steward.wait_for_status("blurred")
        [event] = steward.events_named("media.faces_blurred")
        assert event["faces"] == 1 and event["clause"] == "st-marys.no-faces"
        published = steward.archive / "blurred" / ".steward-clean" / "corner.jpg"
        assert count_faces(published) == 0
        assert count_faces(steward.archive / "blurred" / "corner.jpg") == 1  # the original
    finally:
        steward.stop()
