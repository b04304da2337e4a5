"""An approved post travels from the inbox to every platform exactly once; everything else is
refused with reasons a member of staff can act on, and the daemon keeps running."""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import timedelta

from daemon.audit.verification import verify_chain
from daemon.runtime.keys import audit_signing_key, public_key_text
from tests.daemon.harness import write_post


def test_publishes_an_approved_post_once_on_every_platform(steward):
    steward.post("harvest", "Harvest festival donations go to the food bank.", images=2)
    assert steward.wait_for_status("harvest")
    texts = steward.published_texts()
    assert texts["x"].count("Harvest festival donations go to the food bank.") == 1
    assert texts["facebook"].count("Harvest festival donations go to the food bank.") == 1
    world = steward.world()
    [tweet] = world["x"]["tweets"].values()
    assert len(tweet["attachments"]["media_keys"]) == 2
    assert "geo" not in tweet


def test_archives_a_published_post_with_a_receipt_of_its_urls(steward):
    steward.post("library", "The library reopens on Monday.")
    assert steward.wait_for_status("library")
    receipt = (steward.archive / "library.receipt.txt").read_text()
    assert "x: published https://x.com/OakfieldPrimary/status/" in receipt
    assert "facebook: published https://www.facebook.com/" in receipt
    assert (steward.archive / "library" / "post.md").exists()


def test_publishes_only_on_the_platforms_a_post_names(steward):
    steward.post("x-only", "Only on X, please.", platforms=["x"])
    assert steward.wait_for_status("x-only")
    assert steward.published_texts() == {"x": ["Only on X, please."], "facebook": []}


def test_uses_the_text_given_for_a_platform(steward):
    steward.post("two-texts", "The long version for Facebook, with every detail.",
                 extra_front_matter='[text]\nx = "The short version for X."')
    assert steward.wait_for_status("two-texts")
    assert steward.published_texts() == {
        "x": ["The short version for X."],
        "facebook": ["The long version for Facebook, with every detail."]}


def test_waits_for_the_publish_time(steward):
    steward.post("later", "Not yet.", publish_at=steward.soon(3600))
    assert steward.service.wait_until(
        lambda: steward.events_named("post.scheduled"), timeout=10)
    assert steward.published_texts() == {"x": [], "facebook": []}
    assert steward.service.scheduler.armed() >= 1


def test_refuses_an_unsigned_post_and_says_why(steward):
    steward.post("unsigned", "Nobody approved this.", sign=None)
    report = steward.wait_for_refusal("unsigned")
    assert "has not been approved" in report
    assert "St Mary's CE Primary social media policy" in report
    assert (steward.rejected / "unsigned" / "post.md").exists()
    assert steward.published_texts() == {"x": [], "facebook": []}
    [refusal] = steward.events_named("submission.refused")
    assert refusal["rules"] == ["slt-approval"]
    assert refusal["clauses"] == ["st-marys.slt-posts"]


def test_refuses_a_post_edited_after_signing(steward):
    folder = write_post(steward.drafts / "edited", "The approved words.", publish_at=steward.soon())
    from daemon.posts.approval import sign_submission  # noqa: PLC0415
    from daemon.posts.reading import read_submission  # noqa: PLC0415

    sign_submission(read_submission(folder, "Europe/London", 10**6), steward.keys[0], 10**7)
    post = folder / "post.md"
    post.write_text(post.read_text().replace("approved words", "changed words"))
    steward.submit(folder, sign=None)
    report = steward.wait_for_refusal("edited")
    assert "changed after signing" in report
    assert steward.published_texts() == {"x": [], "facebook": []}


def test_refuses_a_post_signed_only_by_an_unknown_key_and_says_it_was_ignored(steward,
                                                                            tmp_path):
    from daemon.runtime.keys import new_key  # noqa: PLC0415

    stranger = new_key("Somebody Else", tmp_path / "stranger.key")
    folder = write_post(steward.drafts / "stranger", "Signed by a stranger.",
                        publish_at=steward.soon())
    from daemon.posts.submitting import submit  # noqa: PLC0415

    submit(folder, steward.inbox, keys=[stranger], time_zone="Europe/London",
           max_text_bytes=10**6, max_media_bytes=10**7)
    report = steward.wait_for_refusal("stranger")
    assert "has 0 valid SLT approval" in report or "has not been approved" in report
    assert "a signature by 'Somebody Else' was ignored: they are not one of the school's " \
        "configured SLT signers" in report


def test_refuses_a_post_whose_time_passed_beyond_the_grace_window(steward):
    long_ago = (steward.clock.now() - timedelta(days=2)).isoformat()
    steward.post("stale", "Yesterday's news.", publish_at=long_ago)
    report = steward.wait_for_refusal("stale")
    assert "beyond the" in report and "grace window" in report


def test_publishes_a_slightly_late_post_at_once(steward):
    recently = (steward.clock.now() - timedelta(minutes=5)).isoformat()
    steward.post("slightly-late", "Five minutes late is fine.", publish_at=recently)
    assert steward.wait_for_status("slightly-late")


def test_never_publishes_the_same_submission_twice(steward):
    steward.post("once", "Only once, however often it is dropped in.")
    assert steward.wait_for_status("once")
    copy = steward.drafts / "once-again" / "once"
    shutil.copytree(steward.archive / "once", copy)  # signed: approvals.txt travels with it
    steward.submit(copy, sign=None)
    report = steward.wait_for_refusal("once")
    assert "already accepted" in report
    assert steward.published_texts()["x"].count("Only once, however often it is dropped in.") == 1


def test_takes_two_submissions_with_the_same_name_one_after_the_other(steward):
    steward.post("notice", "First notice.")
    assert steward.wait_for_status("notice")
    folder = write_post(steward.drafts / "second" / "notice", "Second notice.",
                        publish_at=steward.soon())
    steward.submit(folder)
    assert steward.service.wait_until(
        lambda: "Second notice." in steward.published_texts()["x"], timeout=20)
    # archived once every platform has it: X may be first by a moment
    assert steward.service.wait_until((steward.archive / "notice-2").exists, timeout=20)
    assert (steward.archive / "notice").exists() and (steward.archive / "notice-2").exists()


def test_takes_a_post_copied_in_once_it_has_settled(steward):
    folder = write_post(steward.drafts / "copied", "Copied in, not renamed.",
                        publish_at=steward.soon())
    from daemon.posts.approval import sign_submission  # noqa: PLC0415
    from daemon.posts.reading import read_submission  # noqa: PLC0415

    sign_submission(read_submission(folder, "Europe/London", 10**6), steward.keys[0], 10**7)
    shutil.copytree(folder, steward.inbox / "copied")
    assert steward.wait_for_status("copied")


def test_takes_posts_left_in_the_inbox_while_it_was_stopped(steward):
    steward.stop()
    folder = write_post(steward.drafts / "waiting", "Dropped in while Steward was stopped.",
                        publish_at=steward.soon())
    steward.submit(folder)
    steward.start()
    assert steward.wait_for_status("waiting")


def test_refuses_a_symlink_pointing_out_of_the_inbox(steward, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    folder = write_post(steward.drafts / "sneaky", "Look at this.", publish_at=steward.soon(),
                        extra_front_matter='[[images]]\nfile = "photo.png"\nalt = "a photo here"')
    os.symlink(secret, folder / "photo.png")
    steward.submit(folder, sign=None)  # `steward sign` itself refuses to sign a link
    report = steward.wait_for_refusal("sneaky")
    assert report is not None and "symbolic link" in report


def test_refuses_a_symlinked_submission(steward, tmp_path):
    folder = write_post(tmp_path / "elsewhere", "Linked in.", publish_at=steward.soon())
    os.symlink(folder, steward.inbox / "linked")
    report = steward.wait_for_refusal("linked")
    assert "symbolic link" in report


def test_refuses_a_huge_image_without_reading_it(steward):
    folder = write_post(steward.drafts / "huge", "A huge photo.", publish_at=steward.soon(),
                        extra_front_matter='[[images]]\nfile = "huge.jpg"\nalt = "very big"')
    with open(folder / "huge.jpg", "wb") as handle:  # a sparse 2 GB file
        handle.write(b"\xff\xd8\xff")
        handle.truncate(2 * 1024**3)
    os.rename(folder, steward.inbox / "huge")  # moved in, as `mv` would: no 2 GB copy
    report = steward.wait_for_refusal("huge")
    assert "2,048.0 MB" in report


def test_keeps_running_after_a_stream_of_bad_submissions(steward):
    bad = {
        "no-front-matter": "Just text, no settings.\n",
        "bad-toml": "+++\npublish_at = = 3\n+++\nBroken.\n",
        "latin1": None,
        "unknown-platform": '+++\nplatforms = ["myspace"]\n+++\nOld times.\n',
        "missing-image": '+++\n[[images]]\nfile = "nowhere.jpg"\nalt = "gone"\n+++\nWhere?\n',
        "no-time": '+++\npublish_at = "tomorrow"\n+++\nWhen?\n',
    }
    for name, content in bad.items():
        folder = steward.drafts / name
        folder.mkdir(parents=True)
        if content is None:
            (folder / "post.md").write_bytes("+++\n+++\nCaf\u00e9 au lait\n".encode("latin-1"))
        else:
            (folder / "post.md").write_text(content)
        steward.submit(folder, sign=None)
    for name in bad:
        assert steward.wait_for_refusal(name) is not None, name
    assert "not UTF-8" in (steward.rejected / "latin1.rejected.txt").read_text()
    assert "myspace" in (steward.rejected / "unknown-platform.rejected.txt").read_text()
    steward.post("after-the-storm", "Still here and still working.")
    assert steward.wait_for_status("after-the-storm")
    assert steward.service.alive()


def test_the_audit_log_of_a_run_verifies(steward):
    steward.post("verified", "An audited post.")
    assert steward.wait_for_status("verified")
    steward.stop()
    key = public_key_text(audit_signing_key(steward.state_dir))
    result = verify_chain([steward.state_dir], [key])  # closed: it must end in a checkpoint
    assert result.intact and result.events > 5 and result.last_checkpoint["reason"] == "stop"
    names = [event["event"] for event in steward.audit_events()]
    for expected in ("service.started", "submission.received", "submission.accepted",
                     "post.scheduled", "post.published", "submission.archived",
                     "service.stopped"):
        assert expected in names


def test_publishes_only_a_cleaned_copy_of_a_photo_with_gps(steward):
    from tests.media import dirty_jpeg  # noqa: PLC0415

    folder = write_post(steward.drafts / "trip", "Our residential trip!", publish_at=steward.soon(),
                        extra_front_matter='[[images]]\nfile = "coast.jpg"\nalt = "The coast path"')
    (folder / "coast.jpg").write_bytes(dirty_jpeg(width=320, height=240))
    steward.submit(folder)
    assert steward.wait_for_status("trip")
    cleaned = steward.archive / "trip" / ".steward-clean" / "coast.jpg"
    from daemon.posts.media_fixing import verify_clean  # noqa: PLC0415

    assert verify_clean(cleaned).removed == ()
    uploaded = {media["sha256"] for media in steward.world()["x"]["media"].values()}
    assert uploaded == {hashlib.sha256(cleaned.read_bytes()).hexdigest()}
    assert (steward.archive / "trip" / "coast.jpg").read_bytes() == (folder / "coast.jpg").read_bytes()
    [event] = steward.events_named("media.cleaned")
    assert event["clause"] == "st-marys.no-geolocation" and "XMP" in event["removed"]
    assert event["orientation_kept"] == 6


def test_refuses_a_photo_it_cannot_prove_clean(steward):
    folder = write_post(steward.drafts / "heic", "From my phone.", publish_at=steward.soon(),
                        extra_front_matter='[[images]]\nfile = "IMG_0001.HEIC"\nalt = "A photo"')
    (folder / "IMG_0001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(64))
    steward.submit(folder)
    report = steward.wait_for_refusal("heic")
    assert "HEIC/HEIF" in report and "geographically traced" in report
