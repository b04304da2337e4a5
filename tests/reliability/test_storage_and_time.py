"""Storage faults, configuration reloads and time: each ends in a clear message, with nothing
accepted lost and nothing published early or twice."""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from daemon.posts.publishing import Publisher
from daemon.posts.reading import read_submission
from daemon.posts.submitting import submit
from daemon.runtime.clock import FixedClock
from daemon.runtime.store import Store, StoredSubmission
from tests.daemon.harness import StewardUnderTest, write_post
from tests.reliability.processes import Processes

# Tests that run Steward (as a process, or a whole Steward in the test) are the slow tier.
slow = pytest.mark.slow


@pytest.fixture
def processes(tmp_path):
    running = Processes(tmp_path)
    yield running
    running.stop()


@slow
def test_a_corrupt_database_stops_steward_with_exit_2_and_says_why(processes):
    processes.state_dir.mkdir(parents=True)
    (processes.state_dir / "steward.sqlite3").write_bytes(b"this is not a database" * 100)
    daemon = processes.start_daemon()
    assert daemon.wait(timeout=60) == 2
    assert "damaged or not a Steward database" in daemon.stderr.read()


@slow
def test_an_altered_audit_log_stops_steward_with_exit_2(processes):
    daemon = processes.start_daemon()
    assert processes.wait(lambda: (processes.state_dir / "audit.jsonl").exists()
                          and "service.started" in (processes.state_dir / "audit.jsonl")
                          .read_text(), 60)
    daemon.terminate()
    daemon.wait(timeout=60)
    log = processes.state_dir / "audit.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace('"info"', '"warning"')
    log.write_text("".join(lines))
    daemon = processes.start_daemon()
    assert daemon.wait(timeout=60) == 2
    assert "audit.jsonl, line 2: the line was edited" in daemon.stderr.read()


@slow
def test_a_line_torn_by_a_crash_is_trimmed_and_recorded(tmp_path):
    steward = StewardUnderTest(tmp_path)
    steward.start()
    steward.stop()
    log = steward.state_dir / "audit.jsonl"
    with open(log, "a") as handle:
        handle.write('{"timestamp":"2026-11-22T05:00:00","event":"post.pub')
    steward.start()
    try:
        [repair] = steward.events_named("audit.tail_repaired")
        assert "incomplete last line" in repair["detail"]
    finally:
        steward.stop()
    from daemon.audit.verification import verify_chain  # noqa: PLC0415
    from daemon.runtime.keys import audit_signing_key, public_key_text  # noqa: PLC0415

    assert verify_chain([log.parent], [public_key_text(audit_signing_key(log.parent))]).intact


@slow
def test_an_invalid_configuration_on_reload_keeps_the_old_one_running(processes):
    daemon = processes.start_daemon()
    assert processes.wait(lambda: any(e["event"] == "service.started"
                                      for e in processes.audit_events()), 60)
    good = processes.config.read_text()
    processes.config.write_text(good + "\n[intake]\nsettle_secs = 1\n")
    daemon.send_signal(signal.SIGHUP)
    assert processes.wait(lambda: any(e["event"] == "config.reload_refused"
                                      for e in processes.audit_events()), 30)
    processes.config.write_text(good.replace("settle_seconds = 0.2", "settle_seconds = 0.4"))
    daemon.send_signal(signal.SIGHUP)
    assert processes.wait(lambda: any(e["event"] == "config.reloaded"
                                      for e in processes.audit_events()), 30)
    [reloaded] = [e for e in processes.audit_events() if e["event"] == "config.reloaded"]
    assert reloaded["changed"] == ["intake"] and reloaded["restart_needed"] == []
    assert daemon.poll() is None


@slow
def test_a_full_disk_makes_new_posts_wait_and_loses_nothing(tmp_path):
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        steward = StewardUnderTest(mount)
        steward.settings.intake.min_free_megabytes = 1
        steward.start()
        try:
            steward.post("before", "Accepted before the disk filled.", publish_at=steward.soon(3600))
            assert steward.service.wait_until(lambda: steward.events_named("post.scheduled"), 10)
            filler = mount / "filler"
            descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)  # unbuffered: no flush
            try:  # at close to fail again
                while True:
                    os.write(descriptor, b"\0" * 65536)
            except OSError:
                pass
            finally:
                os.close(descriptor)
            os.truncate(filler, filler.stat().st_size - 200 * 1024)  # a little room remains
            folder = write_post(tmp_path / "waiting", "Dropped in while the disk was full.",
                                publish_at=steward.soon())
            submitted = submit(folder, steward.inbox, keys=steward.keys,
                               time_zone="Europe/London", max_text_bytes=10**6,
                               max_media_bytes=10**7)
            # the intake looks at it, finds the disk short and leaves it in the inbox: nothing
            # claimed that cannot be kept
            assert steward.service.wait_until(lambda: steward.events_named("intake.disk_full"), 20)
            assert submitted.exists()
            filler.unlink()
            assert steward.wait_for_status("waiting", timeout=20)
            rows = steward.service.store.query("SELECT name FROM submissions ORDER BY name")
            assert [row["name"] for row in rows] == ["before", "waiting"]
        finally:
            steward.stop()
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_posts_across_the_clock_changes_are_due_at_the_right_wall_clock_time(tmp_path):
    folder = tmp_path / "spring"
    folder.mkdir()
    cases = {"2026-03-29T00:30": datetime(2026, 3, 29, 0, 30, tzinfo=UTC),   # before: GMT
             "2026-03-29T02:30": datetime(2026, 3, 29, 1, 30, tzinfo=UTC),   # after: BST
             "2026-10-25T01:30": datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # first 01:30 (BST)
             "2026-10-25T02:30": datetime(2026, 10, 25, 2, 30, tzinfo=UTC)}  # after: GMT
    for written, expected in cases.items():
        (folder / "post.md").write_text(f'+++\npublish_at = "{written}"\n+++\nHello.\n')
        assert read_submission(folder, "Europe/London", 10**6).publish_at == expected, written


@slow
def test_a_clock_jump_neither_publishes_early_nor_twice(steward):
    connectors = steward.service.connectors
    store: Store = steward.service.store
    due = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    store.add_submission(StoredSubmission(
        id="jump", name="jump", content_sha256="j" * 64, publish_at=due, status="scheduled",
        signers=["Deputy Head 0"], received_at=due - timedelta(days=1),
        folder=steward.state_dir / "queue" / "jump", posts={"x": {"text": "Clock test.",
                                                                 "media": []}}), due)
    clock = FixedClock(due - timedelta(minutes=5))
    publisher = Publisher(store, connectors, steward.service.audit, clock,
                          steward.settings.publishing, steward.archive)
    assert publisher.run("jump") == due  # five minutes early: nothing happens
    assert "Clock test." not in steward.published_texts()["x"]
    clock.advance(10 * 60)
    publisher.run("jump")
    clock_back = FixedClock(due - timedelta(hours=1))  # the system clock is set back an hour
    Publisher(store, connectors, steward.service.audit, clock_back, steward.settings.publishing,
              steward.archive).run("jump")
    assert steward.published_texts()["x"].count("Clock test.") == 1
