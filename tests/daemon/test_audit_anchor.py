"""Steward keeps its last signed checkpoint outside the log too (in its database), so a log
that was rewritten without its checkpoints, cut short while Steward ran, or deleted no longer
passes for genuine: Steward refuses to start on it, or records the tampering the moment it sees
it, keeps what it found as evidence, and tells the administrators by e-mail."""

from __future__ import annotations

import json
import mailbox
import shutil
import sqlite3

import pytest

from daemon.audit.verification import verify_chain
from daemon.cli.main import main
from daemon.runtime.keys import audit_signing_key, public_key_text
from daemon.service import StartupError
from tests.audit.test_audit_log import rechain
from tests.daemon.harness import StewardUnderTest
from tests.mailserver import start_mail_server

ADMIN = "it@oakfield.example"


@pytest.fixture
def mail_server(tmp_path):
    controller, inbox, certificate = start_mail_server(tmp_path)
    yield controller, inbox, certificate
    controller.stop()


@pytest.fixture
def steward(tmp_path, mail_server):
    steward = StewardUnderTest(tmp_path / "steward")
    controller, _, certificate = mail_server
    mail = steward.settings.mail
    mail.smtp_host, mail.smtp_port, mail.ca_file = "127.0.0.1", controller.port, certificate
    mail.administrators = [ADMIN]
    yield steward
    steward.stop()


def publish(steward, name):
    steward.post(name, f"Thank you to everyone who came to {name}!", platforms=["x"])
    assert steward.wait_for_status(name)


def a_term_of_work(steward):
    """Steward runs, publishes a post and stops cleanly: its database now has history."""
    steward.start()
    publish(steward, "sports-day")
    steward.stop()


def log_of(steward):
    return steward.state_dir / "audit.jsonl"


def verifies_offline(steward):
    """What an auditor's `steward audit verify` on the log files alone says."""
    key = public_key_text(audit_signing_key(steward.state_dir))
    return verify_chain([steward.state_dir], [key], open_tail=True, unsigned_ok=True)


def refused_start(steward) -> str:
    with pytest.raises(StartupError) as refused:
        steward.start()
    steward.service = None
    return str(refused.value)


def alerts(mail_server, count=1):
    _, inbox, _ = mail_server
    messages = inbox.wait_for(count)
    assert len(messages) >= count, "no alert reached the administrators"
    return [(recipients, message["Subject"], message.get_content())
            for recipients, message, _ in messages]


# -- at start ----------------------------------------------------------------------------------

def test_refuses_to_start_on_a_log_rewritten_without_its_checkpoints(steward, mail_server):
    a_term_of_work(steward)
    lines = log_of(steward).read_text().splitlines(keepends=True)
    forged = rechain([line for line in lines if '"audit.checkpoint"' not in line
                      and '"post.published"' not in line])
    log_of(steward).write_text("".join(forged))

    message = refused_start(steward)
    assert "checkpoint #" in message and "database" in message
    assert "steward audit reset-anchor" in message and "keep" in message.lower()
    assert log_of(steward).read_text() == "".join(forged), "the evidence was changed"
    [(recipients, subject, body)] = alerts(mail_server)
    assert recipients == [ADMIN] and "refused to start" in subject
    assert "checkpoint #" in body


def test_refuses_to_start_after_the_log_was_deleted(steward, mail_server):
    a_term_of_work(steward)
    log_of(steward).unlink()
    shutil.rmtree(steward.state_dir / "audit-archive", ignore_errors=True)

    message = refused_start(steward)
    assert "no audit log" in message or "shorter" in message, message
    assert not log_of(steward).exists()
    [(_, subject, _)] = alerts(mail_server)
    assert "refused to start" in subject


def test_refuses_a_log_without_checkpoints_when_the_database_shows_earlier_posts(
        steward, mail_server):
    a_term_of_work(steward)
    with sqlite3.connect(steward.state_dir / "steward.sqlite3") as db:
        db.execute("DELETE FROM audit_anchor")  # as on an install from before the anchor
    lines = log_of(steward).read_text().splitlines(keepends=True)
    log_of(steward).write_text("".join(rechain(
        [line for line in lines if '"audit.checkpoint"' not in line])))

    message = refused_start(steward)
    assert "no signed checkpoint" in message and "1 submission" in message, message


def test_a_log_restored_from_an_older_backup_is_refused_until_the_anchor_is_reset(
        steward, mail_server, capsys):
    steward.start()
    publish(steward, "sports-day")
    backup = log_of(steward).read_bytes()
    publish(steward, "harvest-festival")
    steward.stop()
    log_of(steward).write_bytes(backup)  # yesterday's copy: today's events are gone

    assert "shorter" in refused_start(steward)
    capsys.readouterr()
    assert main(["audit", "reset-anchor", "--state-dir", str(steward.state_dir), "--reason",
                 "disk failed; log restored from last night's backup"]) == 0
    assert "reset" in capsys.readouterr().out
    steward.start()
    [reset] = steward.events_named("audit.anchor_reset")
    assert reset["reason"] == "disk failed; log restored from last night's backup"
    assert reset["previous_anchor"]["seq"] > reset["seq"]
    steward.stop()
    assert verifies_offline(steward).intact


def test_reset_anchor_refuses_when_the_log_matches_the_record(steward, capsys):
    a_term_of_work(steward)
    assert main(["audit", "reset-anchor", "--state-dir", str(steward.state_dir), "--reason",
                 "just because"]) == 1
    assert "nothing to reset" in capsys.readouterr().err


def test_starts_again_after_a_clean_stop_and_anchors_each_checkpoint(steward):
    a_term_of_work(steward)
    steward.start()
    publish(steward, "harvest-festival")
    steward.service.audit_housekeeping()
    anchored = steward.service.store.audit_anchor()
    [last] = [event for event in steward.audit_events()
              if event["event"] == "audit.checkpoint"][-1:]
    assert (anchored["seq"], anchored["head"]) == (last["seq"], last["hash"])
    steward.stop()
    with sqlite3.connect(steward.state_dir / "steward.sqlite3") as db:
        seq, head = db.execute("SELECT seq, head FROM audit_anchor").fetchone()
    final = steward.audit_events()[-1]
    assert final["event"] == "audit.checkpoint" and final["reason"] == "stop"
    assert (seq, head) == (final["seq"], final["hash"])


def test_a_kill_before_the_first_hourly_checkpoint_does_not_stop_the_next_start(tmp_path):
    import signal  # noqa: PLC0415

    from daemon.posts.submitting import submit  # noqa: PLC0415
    from tests.daemon.harness import write_post  # noqa: PLC0415
    from tests.reliability.processes import Processes  # noqa: PLC0415

    processes = Processes(tmp_path)
    try:
        folder = write_post(tmp_path / "drafts" / "sports-day", "Well done at sports day!")
        submit(folder, processes.state_dir / "inbox", keys=[processes.key],
               time_zone="Europe/London", max_text_bytes=10**6, max_media_bytes=10**7)
        daemon = processes.start_daemon()
        assert processes.wait(lambda: any(event["event"] == "post.published"
                                          for event in processes.audit_events()), 60)
        daemon.send_signal(signal.SIGKILL)  # the database has a post; no stop checkpoint
        daemon.wait(timeout=30)
        daemon = processes.start_daemon()
        assert processes.wait(lambda: daemon.poll() is not None or any(
            event["event"] == "audit.unclean_stop" for event in processes.audit_events()), 60)
        assert daemon.poll() is None, daemon.stderr.read()
    finally:
        processes.stop()


# -- while running -----------------------------------------------------------------------------

def test_a_log_cut_short_while_steward_runs_is_recorded_as_tampering(steward, mail_server,
                                                                     capsys):
    steward.start()
    publish(steward, "sports-day")
    lines = log_of(steward).read_text().splitlines(keepends=True)
    kept = "".join(lines[:3])
    with open(log_of(steward), "r+", encoding="utf-8") as handle:
        handle.truncate(len(kept.encode()))
    publish(steward, "harvest-festival")

    [found] = steward.events_named("audit.tampering_detected")
    assert found["kind"] == "shrank" and found["last_good_seq"] == len(lines) - 1
    evidence = steward.state_dir / found["evidence"]
    assert evidence.read_text() == kept, "the file as found was not kept"
    [(recipients, subject, body)] = alerts(mail_server)
    assert recipients == [ADMIN] and "tamper" in subject.lower()
    assert found["evidence"] in body
    steward.stop()

    capsys.readouterr()
    assert main(["audit", "verify", "--state-dir", str(steward.state_dir)]) == 1
    out = capsys.readouterr().out
    assert "NOT VERIFIED" in out and "shrank" in out
    assert "tamper" in refused_start(steward).lower()


def test_a_log_deleted_while_steward_runs_is_restored_from_steward_s_open_copy(steward,
                                                                              mail_server):
    steward.start()
    publish(steward, "sports-day")
    before = log_of(steward).read_text()
    log_of(steward).unlink()
    publish(steward, "harvest-festival")

    assert log_of(steward).read_text().startswith(before)
    [found] = steward.events_named("audit.tampering_detected")
    assert found["kind"] == "vanished" and found["recovered"] is True
    [(_, subject, _)] = alerts(mail_server)
    assert "tamper" in subject.lower()
    steward.stop()
    report = verifies_offline(steward)
    assert report.intact, report.describe()
    assert "tamper" in report.describe().lower()
    steward.start()  # nothing was lost: Steward starts again


def test_a_log_replaced_while_steward_runs_is_restored_and_the_replacement_kept(steward,
                                                                               mail_server):
    steward.start()
    publish(steward, "sports-day")
    before = log_of(steward).read_text()
    replacement = "".join(rechain([line for line in before.splitlines(keepends=True)
                                   if '"post.published"' not in line]))
    staged = steward.state_dir / "forged.jsonl"
    staged.write_text(replacement)
    staged.replace(log_of(steward))
    publish(steward, "harvest-festival")

    assert log_of(steward).read_text().startswith(before)
    [found] = steward.events_named("audit.tampering_detected")
    assert found["kind"] == "replaced" and found["recovered"] is True
    assert (steward.state_dir / found["evidence"]).read_text() == replacement
    steward.stop()
    assert verifies_offline(steward).intact


def test_steward_s_own_rotation_is_not_mistaken_for_tampering(steward, mail_server):
    steward.start()
    publish(steward, "sports-day")
    steward.service.audit.rotate("test")
    publish(steward, "harvest-festival")
    steward.stop()
    events = [json.loads(line) for path in sorted((steward.state_dir / "audit-archive")
                                                  .iterdir()) for line in path.open()]
    assert not [event for event in events + steward.audit_events()
                if event["event"] == "audit.tampering_detected"]
    steward.start()


def test_a_new_log_begun_on_purpose_starts_once_the_decision_is_recorded(steward, mail_server,
                                                                        capsys):
    a_term_of_work(steward)
    aside = steward.root / "audit.damaged"
    aside.mkdir()
    log_of(steward).rename(aside / "audit.jsonl")
    refused_start(steward)
    assert main(["audit", "reset-anchor", "--state-dir", str(steward.state_dir), "--reason",
                 "log moved to audit.damaged/ for the investigation"]) == 0
    # the command reads the configuration file, which names no SMTP server: the outbox
    told = [message["Subject"] for message in mailbox.Maildir(steward.state_dir / "outbox")]
    assert "[Steward] Audit log anchor reset" in told
    steward.start()
    first = steward.audit_events()[0]
    assert (first["event"], first["seq"]) == ("audit.anchor_reset", 0)
    assert first["previous_anchor"]["seq"] > 0


def test_the_checkpoint_digest_goes_to_the_governors_and_not_again_until_it_is_due(
        steward, mail_server):
    _, inbox, _ = mail_server
    steward.settings.audit.digest_to = ["chair.of.governors@oakfield.example"]
    steward.start()
    publish(steward, "digest day")
    steward.service.send_checkpoint_digest_if_due()
    [(recipients, message, _)] = inbox.wait_for(1)
    [sent] = steward.events_named("audit.digest_sent")
    assert recipients == ["chair.of.governors@oakfield.example"]
    assert f"checkpoint #{sent['checkpoint']}" in message["Subject"]
    assert sent["head"] in message.get_content() and "Keep this e-mail" in message.get_content()
    anchor = steward.service.store.audit_anchor()
    assert (anchor["seq"], anchor["head"]) == (sent["checkpoint"], sent["head"])
    steward.service.send_checkpoint_digest_if_due()  # the next hour: not due for a week
    assert len(steward.events_named("audit.digest_sent")) == 1
