"""An SLT member does their job without IT: their commands need nothing of the daemon's
configuration, roster or state, and no error reaches them as a traceback (issue 18)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
from datetime import UTC, datetime

import pytest

from config.loading import load_settings
from config.settings import StewardSettings
from daemon.runtime.slt_view import ViewWriter, daemon_holds, render_view, view_path
from tests.cli.slt_member import SLT_GROUP, School, make_school, needs_root, remove_school

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def school():
    made = make_school()
    yield made
    remove_school(made)


def service_settings(school: School) -> StewardSettings:
    os.environ["STEWARD_MAIL__PASSWORD"] = "hunter2-secret"
    try:
        return load_settings(school.config, pupils={"roster_file": school.state / "roster.csv"},
                             mail={"moderators": ["dsl@oakfield.example"]})
    finally:
        del os.environ["STEWARD_MAIL__PASSWORD"]


def write_view(school: School) -> ViewWriter:
    writer = ViewWriter()
    writer.write(service_settings(school), NOW)
    return writer


def test_the_slt_view_holds_what_slt_commands_need_and_no_secret_roster_or_state(school):
    settings = service_settings(school)
    text = render_view(settings, NOW)
    assert "hunter2" not in text and "roster" not in text and "dsl@" not in text
    assert str(school.state) not in text and "password" not in text
    view = tomllib.loads(text)
    assert view["school"] == {"name": "Oakfield Primary School", "time_zone": "Europe/London"}
    assert view["paths"]["inbox"] == str(school.inbox)
    assert view["approval"]["signers"] == [{"name": "Deputy Head",
                                            "public_key": school.key.public_key_base64()}]
    assert {clause["id"] for clause in view["policy"]["clauses"]} >= {"st-marys.slt-posts"}


def test_the_slt_view_is_a_steward_configuration_read_by_the_same_code(school):
    write_view(school).release()
    loaded = load_settings(school.view)
    service = service_settings(school)
    for section in ("school", "approval", "faces", "links", "policy"):
        assert getattr(loaded, section) == getattr(service, section)
    assert loaded.intake.max_media_bytes == service.intake.max_media_bytes
    assert loaded.paths.resolved("rejected") == service.paths.resolved("rejected")


def test_the_slt_view_is_written_beside_the_inbox_readable_by_all_and_locked_while_held(school):
    writer = write_view(school)
    try:
        assert view_path(service_settings(school)) == school.view
        assert stat.S_IMODE(school.view.stat().st_mode) == 0o644
        assert school.view.stat().st_gid == school.srv.stat().st_gid
        assert daemon_holds(school.view) is True
    finally:
        writer.release()
    assert daemon_holds(school.view) is False


@needs_root
def test_check_by_an_slt_member_who_cannot_read_the_configuration_uses_the_slt_view(school):
    write_view(school).release()
    draft = school.draft("choir", "The choir sings on Friday.")
    signed = school.slt("sign", str(draft), "--key", str(school.key_file))
    assert signed.returncode == 0, signed.stderr
    checked = school.slt("check", str(draft))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "OK, would be published" in checked.stdout
    assert "checked by Steward on the server after submission" in checked.stdout
    assert "Traceback" not in checked.stderr


@needs_root
def test_check_by_an_slt_member_still_refuses_what_it_can_judge(school):
    write_view(school).release()
    draft = school.draft("no-time", "The choir sings on Friday.", 'publish_at = "2026-11-23"')
    checked = school.slt("check", str(draft))
    assert checked.returncode == 1
    assert "has a date but no time" in checked.stdout and "has not been approved" in \
        checked.stdout


@needs_root
def test_status_by_an_slt_member_says_the_daemon_is_not_running_and_lists_no_traceback(school):
    write_view(school).release()
    shown = school.slt("status")
    assert shown.returncode == 0, shown.stderr
    assert "Daemon: NOT RUNNING" in shown.stdout and "ask IT" in shown.stdout
    assert "Traceback" not in shown.stderr


@needs_root
def test_an_slt_member_without_the_slt_view_is_told_to_ask_for_the_daemon(school):
    shown = school.slt("check", str(school.draft("early", "Hello.")))
    assert shown.returncode == 1
    assert str(school.view) in shown.stderr and "daemon starts" in shown.stderr
    assert "Traceback" not in shown.stderr


@needs_root
def test_a_permission_error_names_the_file_the_user_and_the_fix(school):
    write_view(school).release()
    shown = school.slt("status", "--config", str(school.config))
    assert shown.returncode == 2
    assert str(school.config) in shown.stderr and "user 64001" in shown.stderr
    assert "without --config" in shown.stderr and "Traceback" not in shown.stderr
    listed = school.slt("audit", "show", "--state-dir", str(school.state), "--config",
                        str(school.view))
    assert "Traceback" not in listed.stderr
    assert str(school.state) in listed.stderr and "user 64001 may not open it" in listed.stderr


@needs_root
def test_status_by_a_user_outside_the_slt_group_says_which_group_to_ask_for(school):
    """teacher.x is not in steward-slt: the SLT view's folder is closed to them, and the
    answer says so and what the administrator types, not to leave out --config."""
    write_view(school).release()
    teacher = ["setpriv", "--reuid=64002", "--regid=64002", "--clear-groups", "--"]
    shown = subprocess.run([*teacher, sys.executable, "-m", "daemon.cli", "status"],
                           cwd=school.base, env=school.env(), capture_output=True, text=True,
                           timeout=120, check=False)
    assert shown.returncode == 1, shown.stdout + shown.stderr
    assert f"user 64002 is not in the group {SLT_GROUP}" in shown.stderr
    assert f"sudo usermod -aG {SLT_GROUP} user 64002" in shown.stderr
    assert "log out and in again" in shown.stderr
    assert "without --config" not in shown.stderr and "Traceback" not in shown.stderr


@needs_root
def test_submit_without_a_running_daemon_says_so_and_where_the_answer_will_appear(school):
    write_view(school).release()
    draft = school.draft("late", "The bus is late.")
    handed = school.slt("submit", str(draft), "--sign", str(school.key_file), "--wait", "0.5")
    assert handed.returncode == 3, handed.stdout + handed.stderr
    assert "has not answered within 0.5 seconds" in handed.stdout and "ask IT" in handed.stdout
    assert str(school.srv / "accepted" / "late.accepted.txt") in handed.stdout
    assert (school.inbox / "late" / "approvals.txt").exists()
