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
