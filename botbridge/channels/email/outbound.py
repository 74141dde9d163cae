"""The email transport of the one sender (botbridge.sending): Django's email backend (SMTP, or the
console in development) and what the server's answers mean.

One connection for the sender's whole run, opened at the first message and closed in close():
an SMTP session per email would cost a handshake (and TLS) each. smtplib blocks, so every call
runs in a worker thread, one at a time (a connection carries one conversation).

The answers: a recipient or a message refused with a 5xx code (no such mailbox, a message the
server will never take) fails the message; a 4xx code (greylisting, a full queue, "try later"),
a lost connection, a refused sign-in and a time-out are transient, so the message is tried again
later, up to BROADCAST_ATTEMPTS. Email has no "blocked": an address that refuses one message
may take the next one.
"""

import asyncio
import logging
import smtplib

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from botbridge.channels.email.letters import split
from botbridge.outbound import EMAIL, Failed, Outcome, Sent, Transient

logger = logging.getLogger(__name__)

# A resident gets at most a reminder and a notice at once: a second apart is plenty.
RECIPIENT_INTERVAL_SECONDS = 1.0


class EmailTransport:
    channel = EMAIL
    per_recipient_interval = RECIPIENT_INTERVAL_SECONDS

    def __init__(self) -> None:
        self.rate = settings.EMAIL_RATE
        self.attempts = settings.BROADCAST_ATTEMPTS
        self.connection = get_connection(fail_silently=False)
        self.opened = False
        self.turn = asyncio.Lock()

    async def send(self, recipient_key: str, text: str, *, kind: str) -> Outcome:
        subject, body = split(text)
        # Auto-Submitted (RFC 3834): out-of-office replies are not sent back to a machine's email.
        message = EmailMessage(
            subject, body, to=[recipient_key], connection=self.connection, headers={"Auto-Submitted": "auto-generated"}
        )
        async with self.turn:
            return await sync_to_async(self._send, thread_sensitive=False)(message)

    def _send(self, message: EmailMessage) -> Outcome:
        try:
            if not self.opened:
                # Opened here, not by send_messages: that would close it again after each message.
                self.connection.open()
                self.opened = True
            self.connection.send_messages([message])
        except smtplib.SMTPRecipientsRefused as error:
            ((code, answer),) = error.recipients.values()
            return self._answered(code, answer)
        except smtplib.SMTPAuthenticationError as error:
            # Our settings, not the message: retried while someone fixes EMAIL_HOST_USER/PASSWORD.
            self._reset()
            return Transient(f"the SMTP server refused the sign-in: {error.smtp_code} {_text(error.smtp_error)}")
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            return self._answered(error.smtp_code, error.smtp_error)
        except (smtplib.SMTPException, OSError) as error:
            # Connection refused or dropped, a time-out, TLS trouble, 421 at the greeting.
            self._reset()
            return Transient(f"SMTP: {error!r}"[:300])
        except ValueError as error:
            return Failed(f"not an address the server can take: {error}"[:300])  # Django's sanitize_address
        return Sent()

    def _answered(self, code: int, answer: bytes | str) -> Outcome:
        said = f"{code} {_text(answer)}"[:300]
        if 500 <= code < 600:
            return Failed(said)
        # A 421 closes the connection (smtplib drops it too); any 4xx: a fresh one next time.
        self._reset()
        return Transient(said)

    def _reset(self) -> None:
        self.opened = False
        try:
            self.connection.close()
        except Exception:
            logger.debug("closing a broken SMTP connection failed", exc_info=True)

    async def close(self) -> None:
        if self.opened:
            async with self.turn:
                await sync_to_async(self._reset, thread_sensitive=False)()


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
