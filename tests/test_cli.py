"""The command line as an SLT member and an administrator use it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from daemon.cli.main import main
from tests.daemon.harness import write_post


@pytest.fixture
def key_and_config(tmp_path, capsys):
    key = tmp_path / "deputy.key"
    assert main(["keys", "new", "Deputy Head", "--out", str(key)]) == 0
    printed = capsys.readouterr().out
    snippet = printed[printed.index("[[approval.signers]]"):]
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{tmp_path / "state"}"\n\n{snippet}')
    return key, config


def test_keys_new_writes_a_private_key_only_its_owner_can_read(key_and_config):
    key, _ = key_and_config
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


def test_sign_refuses_a_key_others_can_read(key_and_config, tmp_path, capsys):
    key, config = key_and_config
    os.chmod(key, 0o644)
    post = write_post(tmp_path / "draft", "Hello.")
    assert main(["sign", str(post), "--key", str(key), "--config", str(config)]) == 2
    assert "chmod 600" in capsys.readouterr().err


def test_check_accepts_a_signed_draft_and_refuses_an_unsigned_one(key_and_config, tmp_path,
                                                                   capsys):
    key, config = key_and_config
    post = write_post(tmp_path / "draft", "The choir sings on Friday.")
    assert main(["check", str(post), "--config", str(config)]) == 1
    assert "has not been approved" in capsys.readouterr().out
    assert main(["sign", str(post), "--key", str(key), "--config", str(config)]) == 0
    assert main(["check", str(post), "--config", str(config), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert result["accepted"] and result["approved_by"] == ["Deputy Head"]


def test_a_single_file_post_can_be_signed_and_checked(key_and_config, tmp_path):
    key, config = key_and_config
    post = tmp_path / "notice.md"
    post.write_text("+++\nplatforms = [\"x\"]\n+++\nSchool closes at noon on Friday.\n")
    assert main(["sign", str(post), "--key", str(key), "--config", str(config)]) == 0
    assert main(["check", str(post), "--config", str(config)]) == 0
    post.write_text(post.read_text().replace("noon", "one"))
    assert main(["check", str(post), "--config", str(config)]) == 1


def test_submit_signs_and_renames_into_the_inbox(key_and_config, tmp_path, capsys):
    key, config = key_and_config
    post = write_post(tmp_path / "assembly", "Assembly moves to the hall.")
    assert main(["submit", str(post), "--sign", str(key), "--config", str(config),
                 "--no-wait"]) == 0
    placed = tmp_path / "state" / "inbox" / "assembly"
    assert (placed / "approvals.txt").exists()
    assert not (post / "approvals.txt").exists()
    assert not [p for p in placed.parent.iterdir() if p.name.startswith(".tmp-")]


def test_submit_refuses_a_name_already_in_the_inbox(key_and_config, tmp_path, capsys):
    key, config = key_and_config
    post = write_post(tmp_path / "twice", "Twice.")
    signed = ["submit", str(post), "--sign", str(key), "--config", str(config), "--no-wait"]
    assert main(signed) == 0
    assert main(signed) == 1
    assert "already exists in the inbox" in capsys.readouterr().err


def test_status_works_before_anything_ran(key_and_config, capsys):
    _, config = key_and_config
    assert main(["status", "--config", str(config)]) == 0
    assert "has not run" in capsys.readouterr().out


def test_run_exits_2_when_the_state_directory_cannot_be_written(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    result = subprocess.run(
        [sys.executable, "-m", "daemon.cli.main", "run", "--state-dir", str(blocked / "state")],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "cannot be written" in result.stderr


def test_run_exits_2_on_a_configuration_typo(tmp_path):
    config = tmp_path / "steward.toml"
    config.write_text("[x]\nreplysettings = 'following'\n")
    result = subprocess.run([sys.executable, "-m", "daemon.cli.main", "run", "--config", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "x.replysettings: unknown key; did you mean 'reply_settings'?" in result.stderr


def test_a_video_post_is_signed_and_checked_as_the_daemon_will_judge_it(key_and_config, tmp_path,
                                                                         capsys):
    from tests.clips import clip  # noqa: PLC0415

    key, config = key_and_config
    post = tmp_path / "relay"
    post.mkdir()
    (post / "relay.mp4").write_bytes(clip(2))
    (post / "post.md").write_text('+++\nplatforms = ["x", "facebook"]\npictured = []\n'
                                  '[[videos]]\nfile = "relay.mp4"\nalt = "The relay\'s last lap"\n'
                                  "+++\nSports day's relay.\n")
    assert main(["sign", str(post), "--key", str(key), "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["check", str(post), "--config", str(config)]) == 1
    assert "Facebook cannot take videos through Steward yet" in capsys.readouterr().out
    (post / "post.md").write_text((post / "post.md").read_text().replace(', "facebook"', ""))
    assert main(["sign", str(post), "--key", str(key), "--config", str(config)]) == 0
    assert main(["check", str(post), "--config", str(config)]) == 0
