"""An SLT member hands posts in and gets the daemon's answer back, as the deployment runs:
the daemon is `steward run` as the service's own user, the SLT member a second Unix user
with umask 022 who can read neither the configuration nor the state (issue 18)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cli.slt_member import (
    SERVICE_UID,
    SLT_GROUP,
    SLT_UID,
    Daemon,
    School,
    as_user,
    make_school,
    needs_root,
    remove_school,
)

pytestmark = [pytest.mark.slow, needs_root]
TEACHER_UID = 64002  # a teacher who writes drafts for the SLT
LATER = 'publish_at = "2030-06-03T09:00"'


@pytest.fixture(scope="module")
def school():
    made = make_school(extra_config='\n[pupils]\nroster_file = "{state}/roster.csv"\n')
    made.extra_config = made.extra_config.replace("{state}", str(made.state))
    made.write_config()
    roster = made.state / "roster.csv"
    roster.write_text("First Name,Surname,Preferred Name,Year\nJane,Smith,,4\n")
    os.chown(roster, SERVICE_UID, SERVICE_UID)
    os.chmod(roster, 0o600)
    daemon = Daemon(made)
    assert daemon.wait_until(made.view.exists), daemon.output()
    yield made
    daemon.stop()
    remove_school(made)


def test_the_daemon_writes_the_slt_view_and_status_says_it_is_running(school: School):
    shown = school.slt("status")
    assert shown.returncode == 0, shown.stderr
    assert "Daemon: running" in shown.stdout


def test_a_folder_post_made_with_umask_022_is_claimed_and_accepted(school: School):
    draft = school.draft("choir", "The choir sings on Friday.", LATER)
    handed = school.slt("submit", str(draft), "--sign", str(school.key_file), "--wait", "60")
    assert handed.returncode == 0, handed.stdout + handed.stderr
    assert "It will go out on Monday 03 June 2030 at 09:00" in handed.stdout
    assert "Steward accepted 'choir'" in handed.stdout and "ID: 20300603-0800-" in handed.stdout
    notice = school.srv / "accepted" / "choir.accepted.txt"
    assert notice.exists() and oct(notice.stat().st_mode & 0o777) == "0o640"
    assert inbox_is_emptied(school)


def inbox_is_emptied(school: School) -> bool:
    """Whether the inbox holds nothing (within a deadline): Steward removed what it took,
    leaving no `.steward-taken-` copy for every SLT member to read."""
    return Daemon.poll(lambda: not list(school.inbox.iterdir()), 30) or \
        pytest.fail(f"left in the inbox: {sorted(e.name for e in school.inbox.iterdir())}")


def test_submit_waits_for_a_refusal_and_writes_refused_txt_beside_the_draft(school: School):
    draft = school.draft("prize", "The prize goes to Jane Smith.", LATER)
    checked = school.slt("check", str(draft))
    assert "checked by Steward on the server" in checked.stdout
    handed = school.slt("submit", str(draft), "--sign", str(school.key_file), "--wait", "60")
    assert handed.returncode == 1, handed.stdout + handed.stderr
    assert "Steward did not publish 'prize'" in handed.stdout
    refused = draft / "REFUSED.txt"
    assert refused.exists() and refused.stat().st_uid != SERVICE_UID
    assert "full name" in refused.read_text() and "Jane Smith" not in refused.read_text()
    assert inbox_is_emptied(school)


def test_a_refusal_of_a_draft_in_a_teachers_shared_folder_is_printed_not_written_there(
        school: School):
    """The teacher's drafts folder (2775, theirs) holds a link where REFUSED.txt would go,
    pointing at the deputy head's key: the key is untouched, and submit says why no
    REFUSED.txt was written and where the reasons are."""
    shared = school.base / "drafts"
    shared.mkdir()
    draft = shared / "trip"
    draft.mkdir()
    (draft / "post.md").write_text(f"+++\n{LATER}\n+++\nJane Smith leads the trip.\n")
    (draft / "REFUSED.txt").symlink_to(school.key_file)
    for path in (shared, draft, draft / "post.md"):
        os.chown(path, TEACHER_UID, SLT_GROUP, follow_symlinks=False)
    os.chmod(shared, 0o2775)  # noqa: S103 - as the shared drafts folder is made
    os.chmod(draft, 0o2775)  # noqa: S103
    key_before = school.key_file.read_bytes()
    handed = school.slt("submit", str(draft), "--sign", str(school.key_file), "--wait", "60")
    assert handed.returncode == 1, handed.stdout + handed.stderr
    assert "No REFUSED.txt was written beside the post" in handed.stdout
    assert "not to you" in handed.stdout and "trip.rejected.txt" in handed.stdout
    assert school.key_file.read_bytes() == key_before
    assert inbox_is_emptied(school)


def test_an_entry_steward_may_not_delete_is_reported_once_and_removed_once_it_may(
        school: School):
    """A folder copied into the inbox by hand with umask 022 (0755): Steward may rename it but
    not delete what is inside. It keeps its hidden name (never `.steward-taken-` twice), the
    administrator is told once, and a later scan removes it once the group may write there."""
    leftover = school.inbox / ".steward-taken-old-post"
    made = subprocess.run([*as_user(SLT_UID, SLT_GROUP), "sh", "-c",
                           f"mkdir {leftover} && echo text > {leftover}/post.md"],
                          umask=0o022, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    assert Daemon.poll(lambda: any(e["entry"] == leftover.name
                                   for e in audit_events(school, "intake.original_kept")), 30)
    [event] = [e for e in audit_events(school, "intake.original_kept")
               if e["entry"] == leftover.name]
    assert event["audience"] == "admin" and f"sudo rm -rf {leftover}" in event["note"]
    assert sorted(e.name for e in school.inbox.iterdir()) == [leftover.name]
    opened = subprocess.run([*as_user(SLT_UID, SLT_GROUP), "chmod", "g+w", str(leftover)],
                            capture_output=True, text=True)
    assert opened.returncode == 0, opened.stderr
    assert inbox_is_emptied(school)
    assert [e["entry"] for e in audit_events(school, "intake.original_removed")] == \
        [leftover.name]


def test_a_post_check_would_refuse_is_not_handed_in(school: School):
    draft = school.draft("unsigned", "Nobody signed this.", LATER)
    handed = school.slt("submit", str(draft), "--no-wait")
    assert handed.returncode == 1 and "not handed in" in handed.stdout
    assert not (school.inbox / "unsigned").exists()


def submitted_id(school: School, name: str, text: str, front_matter: str = LATER) -> str:
    draft = school.home / name
    if draft.exists():
        (draft / "post.md").write_text(f"+++\n{front_matter}\n+++\n{text}\n", encoding="utf-8")
    else:
        draft = school.draft(name, text, front_matter)
    handed = school.slt("submit", str(draft), "--sign", str(school.key_file), "--wait", "60")
    assert handed.returncode == 0, handed.stdout + handed.stderr
    [line] = [line for line in handed.stdout.splitlines() if line.startswith("ID: ")]
    return line.removeprefix("ID: ")


def audit_events(school: School, event: str) -> list[dict]:
    lines = (school.state / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    return [record for record in map(json.loads, lines) if record["event"] == event]


def test_cancel_stops_a_scheduled_post_and_audits_who_asked(school: School):
    post_id = submitted_id(school, "sports-day", "Sports day is on Friday.")
    cancelled = school.slt("cancel", post_id, "--sign", str(school.key_file), "--wait", "60")
    assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
    assert f"Steward cancelled 'sports-day' ({post_id})" in cancelled.stdout
    assert (school.srv / "rejected" / "sports-day.cancelled.txt").exists()
    [event] = [e for e in audit_events(school, "post.cancelled") if e["submission"] == post_id]
    assert event["by"] == ["Deputy Head"]
    again = school.slt("cancel", post_id, "--sign", str(school.key_file), "--wait", "60")
    assert again.returncode == 0 and "already cancelled" in again.stdout
    draft = school.home / "sports-day"
    (draft / "REFUSED.txt").unlink(missing_ok=True)
    same = school.slt("submit", str(draft), "--sign", str(school.key_file), "--wait", "60")
    assert same.returncode == 1 and "is the one cancelled as 'sports-day'" in same.stdout
    assert submitted_id(school, "sports-day", "Sports day is on Friday at two.") != post_id


def test_a_cancel_request_without_a_configured_signature_is_refused_before_it_is_sent(
        school: School):
    from daemon.runtime.keys import new_key  # noqa: PLC0415

    stranger = school.home / "stranger.key"
    new_key("Somebody Else", stranger)
    os.chown(stranger, SLT_UID, SLT_UID)
    refused = school.slt("cancel", "anything", "--sign", str(stranger), "--no-wait")
    assert refused.returncode == 1 and "needs 1 signature(s)" in refused.stdout


def test_a_resubmission_under_the_same_name_replaces_the_scheduled_post(school: School):
    first = submitted_id(school, "assembly", "Assembly is in the hall.")
    second = submitted_id(school, "assembly", "Assembly is in the gym.")
    assert first != second
    [event] = audit_events(school, "submission.replaced")
    assert event["submission"] == first and event["replaced_by"] == second
    notice = (school.srv / "accepted" / "assembly.accepted.txt").read_text()
    assert f"It replaces the earlier post of that name, {first}" in notice


def test_unpublish_dry_run_says_what_would_go_and_then_deletes_it_everywhere(school: School):
    post_id = submitted_id(school, "bake-sale", "The bake sale raised 300 pounds.",
                           front_matter="")
    receipt = school.srv / "archive" / "bake-sale.receipt.txt"
    assert Daemon.poll(receipt.exists, 60), "the post was not published"
    dry = school.slt("unpublish", post_id, "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "would delete on x:" in dry.stdout and "would delete on facebook:" in dry.stdout
    assert not audit_events(school, "post.unpublished")
    late = school.slt("cancel", post_id, "--sign", str(school.key_file), "--wait", "60")
    assert late.returncode == 1 and "steward unpublish" in late.stdout
    assert f"Steward did not cancel '{post_id}'" in late.stdout
    assert "Fix the post" not in late.stdout and "posted by" not in late.stdout
    done = school.slt("unpublish", post_id, "--sign", str(school.key_file), "--wait", "60")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "x: deleted" in done.stdout and "facebook: deleted" in done.stdout
    events = [e for e in audit_events(school, "post.unpublished") if e["submission"] == post_id]
    assert sorted(e["platform"] for e in events) == ["facebook", "x"]
    world = json.loads((school.state / "sandbox.json").read_text())
    tweets = [t for t in world["x"]["tweets"].values() if "bake sale" in t["text"]]
    posts = [p for p in world["facebook"]["posts"].values() if "bake sale" in p["message"]]
    assert tweets and posts and all(item["deleted"] for item in tweets + posts)


def private_draft(school: School, name: str, text: str) -> Path:
    """A post folder made with umask 077: the folder 0700 and post.md 0600, the member's alone."""
    draft = school.draft(name, text, LATER)
    os.chmod(draft, 0o700)
    os.chmod(draft / "post.md", 0o600)
    return draft


def test_a_folder_post_made_with_umask_077_is_still_handed_in_and_accepted(school: School):
    draft = private_draft(school, "harvest", "The harvest festival is on Friday.")
    handed = school.slt("submit", str(draft), "--sign", str(school.key_file), "--wait", "60")
    assert handed.returncode == 0, handed.stdout + handed.stderr
    assert "Steward accepted 'harvest'" in handed.stdout


def test_a_post_copied_in_that_steward_may_not_read_is_refused_with_the_reason_once(
        school: School):
    """Copied into the inbox by hand (a file manager, `cp -r`) with files only their owner may
    read: the post goes to rejected/ with what to do, and is not tried again and again."""
    draft = private_draft(school, "fireworks", "Fireworks night is on the fifth.")
    signed = school.slt("sign", str(draft), "--key", str(school.key_file))
    assert signed.returncode == 0, signed.stdout + signed.stderr
    copied = subprocess.run([*as_user(SLT_UID, SLT_GROUP), "cp", "-rp", str(draft),
                             str(school.inbox / "fireworks")], umask=0o077,
                            capture_output=True, text=True)
    assert copied.returncode == 0, copied.stderr
    notice = school.srv / "rejected" / "fireworks.rejected.txt"
    assert Daemon.poll(notice.exists, 60), "no answer in rejected/"
    text = notice.read_text()
    assert "could not read" in text and "steward submit" in text and "g+rX" in text, text
    assert not any(entry.name.startswith(".steward-claim-") for entry in school.inbox.iterdir())
