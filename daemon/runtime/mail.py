"""Send e-mail to people: SMTP with STARTTLS when configured, otherwise a Maildir outbox in the
state directory that an administrator can read or forward (so no report is ever lost because
mail is not set up).

Messages to people may contain the abusive text (the head teacher needs to see it); they are
never written to the logs, which record only that a message was sent, to which role.
"""

from __future__ import annotations

import mailbox
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from config.settings import MailSettings
from daemon.runtime.clock import Clock


class MailError(Exception):
    """A message could not be sent (it has been kept in the outbox)."""


class Mailer:
    def __init__(self, settings: MailSettings, outbox: Path, clock: Clock | None = None) -> None:
        self.settings = settings
        self.outbox = Path(outbox)
        self.clock = clock or Clock()  # dates each message

    def _message(self, to: list[str], subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.from_address
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message["Date"] = format_datetime(self.clock.now())
        message["Message-ID"] = make_msgid(domain="steward.invalid")
        message.set_content(body)
        return message

    def keep(self, message: EmailMessage) -> Path:
        """Put `message` in the Maildir outbox; return the folder."""
        box = mailbox.Maildir(self.outbox, create=True)
        box.add(message)
        return self.outbox

    def alert(self, audit, subject: str, body: str, to_safeguarding: bool = False) -> None:
        """Tell the administrators (and the e-safety lead, for safeguarding matters) something
        needs a person; a failure to send is recorded in `audit`, the message kept in the
        outbox."""
        recipients = list(self.settings.administrators) + (
            [self.settings.esafety_lead] if to_safeguarding and self.settings.esafety_lead
            else [])
        try:
            self.send(recipients, f"[Steward] {subject}", body)
        except MailError as error:
            audit.record("alert.mail_failed", level="error", reason=str(error))

    def send(self, to: list[str], subject: str, body: str) -> str:
        """Send; return 'smtp' or 'outbox'. Raise MailError (after keeping it) if SMTP fails."""
        recipients = [address for address in to if address]
        message = self._message(recipients or ["(no recipient configured)"], subject, body)
        if not self.settings.smtp_host or not recipients:
            self.keep(message)
            return "outbox"
        try:
            context = ssl.create_default_context(
                cafile=str(self.settings.ca_file) if self.settings.ca_file else None)
            with smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port,
                              timeout=self.settings.timeout_seconds) as smtp:
                if self.settings.starttls:
                    smtp.starttls(context=context)
                if self.settings.username and self.settings.password:
                    smtp.login(self.settings.username, self.settings.password.get_secret_value())
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            self.keep(message)
            raise MailError(f"could not send mail through {self.settings.smtp_host} "
                            f"({error.__class__.__name__}); the message is in {self.outbox}") \
                from None
        return "smtp"
