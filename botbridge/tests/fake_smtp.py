"""A strict fake mail server on 127.0.0.1 for the email channel's tests: real SMTP (aiosmtpd), so
Django's SMTP backend and smtplib talk to it as to a provider's server.

It refuses what a real server refuses: RCPT TO an address it has no mailbox for gets
"550 5.1.1 ... User unknown"; a test can script a temporary refusal for an address, a 451
("try again later", as greylisting answers) or a 421 (the server closes the connection, as a
busy or shutting-down server does). It keeps every message it accepted, parsed, with its envelope,
and counts the connections (SMTP sessions) it served.
"""

import asyncio
import email
import email.policy
import socket
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        # Django folds a long encoded subject right after "Subject:"; a mail client shows it without
        # the fold's leading space.
        return str(self.message["Subject"]).strip()

    @property
    def body(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()


class FakeSMTP:
    def __init__(self, mailboxes: tuple[str, ...] = ()) -> None:
        self.mailboxes = {address.lower() for address in mailboxes}
        self.scripted: dict[str, list[str]] = {}
        self.received: list[Received] = []
        self.sessions: set[int] = set()
        self.controller = Controller(_Handler(self), hostname=HOST, port=_free_port())

    def __enter__(self) -> "FakeSMTP":
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port

    def add_mailbox(self, address: str) -> None:
        self.mailboxes.add(address.lower())

    def refuse_next(self, address: str, status: str) -> None:
        """Answer the next RCPT TO `address` with `status` ("451 4.7.1 Try again later")."""
        self.scripted.setdefault(address.lower(), []).append(status)

    def to(self, address: str) -> list[Received]:
        return [mail for mail in self.received if address.lower() in (rcpt.lower() for rcpt in mail.rcpt_tos)]


class _Handler:
    def __init__(self, fake: FakeSMTP) -> None:
        self.fake = fake

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options: list[str]) -> str:
        self.fake.sessions.add(id(session))
        scripted = self.fake.scripted.get(address.lower())
        if scripted:
            status = scripted.pop(0)
            if status.startswith("421"):
                # A 421 ends the session: the server says it and closes the connection.
                asyncio.get_running_loop().call_soon(server.transport.close)
            return status
        if address.lower() not in self.fake.mailboxes:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.fake.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 2.0.0 Ok: queued"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]
