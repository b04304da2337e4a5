"""An SLT member hands posts in and gets the daemon's answer back, as the deployment runs:
the daemon is `steward run` as the service's own user, the SLT member a second Unix user
with umask 022 who can read neither the configuration nor the state (issue 18)."""

from __future__ import annotations

import os

import pytest

from tests.cli.slt_member import (
    SERVICE_UID,
    Daemon,
    School,
    make_school,
    needs_root,
    remove_school,
)

pytestmark = [pytest.mark.slow, needs_root]
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
    assert not (school.inbox / "choir").exists()


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


def test_a_post_check_would_refuse_is_not_handed_in(school: School):
    draft = school.draft("unsigned", "Nobody signed this.", LATER)
    handed = school.slt("submit", str(draft), "--no-wait")
    assert handed.returncode == 1 and "not handed in" in handed.stdout
    assert not (school.inbox / "unsigned").exists()
