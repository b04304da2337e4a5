"""Where mail is configured, a refused post's reasons are e-mailed to the SLT members who
signed it; the audit log says a message went, never what it said (issue 18)."""

from __future__ import annotations

import mailbox

from config.settings import SignerSettings
from tests.daemon.harness import StewardUnderTest


def test_a_refusal_is_mailed_to_the_signers_who_have_an_address(tmp_path):
    steward = StewardUnderTest(tmp_path)
    key = steward.keys[0]
    signers = [SignerSettings(name=key.name, public_key=key.public_key_base64(),
                              email="deputy.head@oakfield.example")]
    steward.settings = steward.settings.model_copy(update={"approval": steward.settings.approval
                                                           .model_copy(update={"signers": signers})})
    steward.start()
    try:
        steward.post("fair", "Call 07700 900123 about the fair.")
        assert steward.wait_for_refusal("fair") is not None
        assert steward.service.wait_until(
            lambda: bool(steward.events_named("submission.refusal_mailed")), 10)
        [sent] = steward.events_named("submission.refusal_mailed")
        assert sent["recipients"] == 1 and "07700" not in str(sent)
        [message] = list(mailbox.Maildir(steward.state_dir / "outbox", create=False))
        assert message["To"] == "deputy.head@oakfield.example"
        assert "a phone number" in message.get_payload()
    finally:
        steward.stop()
