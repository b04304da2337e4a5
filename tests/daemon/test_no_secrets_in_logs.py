"""Secrets never reach any log: not the audit log, not stdout, not library debug output,
not refusal files or receipts; on success and on every error path."""

from __future__ import annotations

import io
import logging

from pydantic import SecretStr

from daemon.runtime.logs import configure_logging
from sandbox.state import SandboxState
from tests.daemon.harness import StewardUnderTest

SECRETS = {
    "consumer_key": "ck-7Hq2LmP9vX4tR8sW1yZ3",
    "consumer_secret": "cs-Q1w2E3r4T5y6U7i8O9p0AsDfGhJkLzXc",
    "access_token": "1500000000000000001-AtK9mN3bV5cX7zL1qW3eR5tY",
    "access_token_secret": "ats-Zx9Cv8Bn7Mm6Ll5Kk4Jj3Hh2Gg1",
    "page_access_token": "EAAGm0PX4ZCpsBAKZCsecretPageToken0123456789",
}


def test_no_secret_reaches_any_log_or_file(tmp_path, capfd):
    steward = StewardUnderTest(tmp_path)
    world = SandboxState(tmp_path / "sandbox-state.json")
    with world.change() as state:
        state["x"]["credentials"].update(
            {name: SECRETS[name] for name in ("consumer_key", "consumer_secret", "access_token",
                                             "access_token_secret")})
        state["facebook"]["page_access_token"] = SECRETS["page_access_token"]
    for name in ("consumer_key", "consumer_secret", "access_token", "access_token_secret"):
        setattr(steward.settings.x, name, SecretStr(SECRETS[name]))
    steward.settings.facebook.page_access_token = SecretStr(SECRETS["page_access_token"])

    stream = io.StringIO()
    configure_logging(stream=stream, level=logging.DEBUG,
                      secret_values=steward.settings.secret_values())
    for noisy in ("urllib3", "tweepy", "facebook", "requests_oauthlib", "oauthlib"):
        logging.getLogger(noisy).setLevel(logging.DEBUG)  # the worst case: full debug output
    steward.start()
    try:
        steward.post("fine", "An ordinary post.", images=1)
        assert steward.wait_for_status("fine")
        steward.fault(method="POST", path="^/2/tweets$", status=401, times=-1)
        steward.fault(method="POST", path="/feed$", status=400, times=-1, body={"error": {
            "message": f"Invalid token {SECRETS['page_access_token']}", "code": 190,
            "type": "OAuthException"}})
        steward.post("refused-credentials", "Credentials refused.")
        assert steward.service.wait_until(
            lambda: len(steward.events_named("delivery.credentials_refused")) >= 2, 20)
        steward.post("unsigned", "Not signed.", sign=None)
        assert steward.wait_for_refusal("unsigned")
        logging.getLogger("urllib3").debug(
            "GET /v25.0/100000000000001?access_token=%s", SECRETS["page_access_token"])
    finally:
        steward.stop()
        logging.getLogger().handlers.clear()

    captured = capfd.readouterr()
    everything = {
        "log stream": stream.getvalue(),
        "stdout": captured.out,
        "stderr": captured.err,
        "audit log": (steward.state_dir / "audit.jsonl").read_text(),
    }
    for folder in (steward.rejected, steward.archive):
        for path in folder.glob("*.txt"):
            everything[str(path)] = path.read_text()
    assert "Making API request" in everything["log stream"], "tweepy debug output missing"
    assert "[redacted]" in everything["log stream"]
    for where, text in everything.items():
        for name, secret in SECRETS.items():
            assert secret not in text, f"{name} leaked into {where}"
