"""What `steward check` tells an SLT member about a draft before anything is submitted
(issue 18, section 2): a photo left in the folder but not listed is a warning, not a refusal."""

from __future__ import annotations

import pytest

from daemon.cli.main import main
from daemon.posts.sample_images import png_image
from tests.daemon.harness import write_post


@pytest.fixture
def key_and_config(tmp_path, capsys):
    """An SLT member's key, and a configuration whose one signer it is."""
    key = tmp_path / "deputy.key"
    assert main(["keys", "new", "Deputy Head", "--out", str(key)]) == 0
    printed = capsys.readouterr().out
    config = tmp_path / "steward.toml"
    config.write_text(f'[paths]\nstate_dir = "{tmp_path / "state"}"\n\n'
                      + printed[printed.index("[[approval.signers]]"):])
    return key, config


def test_a_photo_in_the_folder_but_not_listed_is_a_warning_not_a_refusal(key_and_config,
                                                                        tmp_path, capsys):
    key, config = key_and_config
    post = write_post(tmp_path / "sports-day", "Sports day is on Friday.")
    (post / "IMG_0042.png").write_bytes(png_image(16, 12, seed=1))
    assert main(["sign", str(post), "--key", str(key), "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["check", str(post), "--config", str(config)]) == 0
    printed = capsys.readouterr().out
    assert "OK, would be published" in printed
    assert "Warning: 1 file(s) in the folder are not listed in post.md" in printed
    assert "IMG_0042.png" in printed and "will NOT be published" in printed


def second_signer(tmp_path, capsys, config, configured: bool):
    """Another SLT member's key; `configured`: its public key is in the configuration."""
    key = tmp_path / "head.key"
    assert main(["keys", "new", "Head Teacher", "--out", str(key)]) == 0
    printed = capsys.readouterr().out
    if configured:
        with config.open("a") as handle:
            handle.write("\n" + printed[printed.index("[[approval.signers]]"):])
    return key


def test_signing_again_after_an_edit_replaces_the_old_signature(key_and_config, tmp_path,
                                                                capsys):
    key, config = key_and_config
    post = write_post(tmp_path / "trip", "The trip leaves at nine.")
    assert main(["sign", str(post), "--key", str(key), "--config", str(config)]) == 0
    (post / "post.md").write_text((post / "post.md").read_text().replace("nine", "ten"))
    assert main(["check", str(post), "--config", str(config)]) == 1
    capsys.readouterr()
    assert main(["sign", str(post), "--key", str(key), "--config", str(config)]) == 0
    assert "replaces their earlier signature" in capsys.readouterr().out
    assert len((post / "approvals.txt").read_text().splitlines()) == 1
    assert main(["check", str(post), "--config", str(config)]) == 0


def test_a_single_file_post_signed_again_keeps_one_signature_per_signer(key_and_config,
                                                                        tmp_path):
    key, config = key_and_config
    post = tmp_path / "notice.md"
    post.write_text('+++\nplatforms = ["x"]\n+++\nSchool closes at noon.\n')
    for _ in range(2):
        assert main(["sign", str(post), "--key", str(key), "--config", str(config)]) == 0
    assert post.read_text().count('"signer"') == 1
    assert main(["check", str(post), "--config", str(config)]) == 0


def test_a_signature_by_an_unknown_key_is_a_warning_and_does_not_block_a_valid_one(
        key_and_config, tmp_path, capsys):
    key, config = key_and_config
    stranger = second_signer(tmp_path, capsys, config, configured=False)
    post = write_post(tmp_path / "fair", "The summer fair is on Saturday.")
    for signer in (stranger, key):
        assert main(["sign", str(post), "--key", str(signer), "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["check", str(post), "--config", str(config)]) == 0
    printed = capsys.readouterr().out
    assert "Warning: a signature by 'Head Teacher' was ignored" in printed


def test_a_missing_second_approval_says_exactly_who_runs_what(key_and_config, tmp_path, capsys):
    key, config = key_and_config
    second_signer(tmp_path, capsys, config, configured=True)
    config.write_text(config.read_text().replace("[[approval.signers]]",
                                                 "[approval]\napprovals_required = 2\n\n"
                                                 "[[approval.signers]]", 1))
    post = write_post(tmp_path / "concert", "The concert starts at six.")
    assert main(["sign", str(post), "--key", str(key), "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["check", str(post), "--config", str(config)]) == 1
    assert "Ask a second SLT member to run: steward sign concert --key ~/THEIR.key" in \
        capsys.readouterr().out


def test_a_signature_by_another_key_under_a_configured_name_says_it_may_be_the_wrong_key(
        key_and_config, tmp_path, capsys):
    """A second "Deputy Head" key (made again, say, on a new laptop) is not the configured one:
    the answer says so, not only that the post was changed after signing."""
    _, config = key_and_config
    other = tmp_path / "deputy-again.key"
    assert main(["keys", "new", "Deputy Head", "--out", str(other)]) == 0
    post = write_post(tmp_path / "concert", "The concert is on Thursday.")
    assert main(["sign", str(post), "--key", str(other), "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["check", str(post), "--config", str(config)]) == 1
    printed = capsys.readouterr().out
    assert "changed after signing" in printed
    assert "not signed with the key configured for 'Deputy Head'" in printed
    assert "public key the administrator configured" in printed


def test_a_key_name_with_control_characters_is_refused_and_shown_escaped(tmp_path, capsys):
    key = tmp_path / "odd.key"
    assert main(["keys", "new", "Deputy\x1b[2J\rHead", "--out", str(key)]) == 2
    shown = capsys.readouterr()
    assert "\x1b" not in shown.out + shown.err and "\r" not in shown.out + shown.err
    assert "Deputy\\x1b[2J\\rHead" in shown.err and "do not show" in shown.err
    assert not key.exists()


def test_sign_shows_a_signer_name_from_an_old_key_file_escaped(key_and_config, tmp_path,
                                                                capsys):
    from daemon.runtime.keys import new_key  # noqa: PLC0415

    _, config = key_and_config
    odd = tmp_path / "odd.key"
    new_key("Deputy\x1bHead", odd)
    post = write_post(tmp_path / "picnic", "The picnic is on Monday.")
    main(["sign", str(post), "--key", str(odd), "--config", str(config)])
    shown = capsys.readouterr()
    assert "\x1b" not in shown.out + shown.err and "as Deputy\\x1bHead" in shown.out
