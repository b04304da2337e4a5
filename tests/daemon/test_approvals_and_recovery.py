"""The two-person rule end to end, and nothing lost when Steward stops between steps."""

from __future__ import annotations

import os
import shutil

from daemon.posts.submitting import submit
from tests.daemon.harness import StewardUnderTest, write_post


def test_the_two_person_rule_needs_two_different_signers(tmp_path):
    steward = StewardUnderTest(tmp_path, approvals_required=2, signers=2)
    steward.start()
    try:
        folder = write_post(steward.drafts / "one-person", "Signed twice by one person.",
                            publish_at=steward.soon())
        submit(folder, steward.inbox, keys=[steward.keys[0], steward.keys[0]],
               time_zone="Europe/London", max_text_bytes=10**6, max_media_bytes=10**7)
        report = steward.wait_for_refusal("one-person")
        assert "1 valid SLT approval(s) but needs 2" in report
        assert "City of Rochester" in report  # "read and agreed by at least one other colleague"
        steward.post("two-people", "Read and agreed by two colleagues.", sign=2)
        assert steward.wait_for_status("two-people")
        [accepted] = steward.events_named("submission.accepted")
        assert accepted["approved_by"] == ["Deputy Head 0", "Deputy Head 1"]
    finally:
        steward.stop()


def test_a_submission_claimed_but_not_judged_before_a_stop_is_finished_at_start(tmp_path):
    steward = StewardUnderTest(tmp_path)
    steward.start()
    steward.stop()
    folder = write_post(steward.drafts / "claimed", "Claimed, then the power went.",
                        publish_at=steward.soon())
    signed = submit(folder, tmp_path / "signed", keys=steward.keys, time_zone="Europe/London",
                    max_text_bytes=10**6, max_media_bytes=10**7)
    claim = steward.inbox / ".steward" / "claimed" / "20261122T000000000000-claimed"
    claim.mkdir(parents=True)
    os.rename(signed, claim / "claimed")
    steward.start()
    try:
        assert steward.wait_for_status("claimed")
        assert steward.events_named("submission.claim_resumed")
        assert not claim.exists()
    finally:
        steward.stop()


def test_a_queued_submission_missing_from_the_database_is_judged_again(tmp_path):
    steward = StewardUnderTest(tmp_path)
    steward.start()
    steward.stop()
    folder = write_post(steward.drafts / "orphan", "Moved to the queue, then the power went.",
                        publish_at=steward.soon())
    signed = submit(folder, tmp_path / "signed", keys=steward.keys, time_zone="Europe/London",
                    max_text_bytes=10**6, max_media_bytes=10**7)
    queued = steward.state_dir / "queue" / "20261122-0000-abcdef012345"
    queued.mkdir(parents=True)
    shutil.move(str(signed), str(queued / "orphan"))
    steward.start()
    try:
        assert steward.wait_for_status("orphan")
        assert steward.published_texts()["x"] == ["Moved to the queue, then the power went."]
    finally:
        steward.stop()
