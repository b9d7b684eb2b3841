"""Alerts by e-mail over SMTP."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage

from mlwarden.errors import UsageError
from mlwarden.monitor.alerts.alert import Alert


class SmtpSink:
    """Send each alert as a plain-text e-mail.

    ``starttls=True`` upgrades the connection (certificate verified with the system store,
    or ``tls_context``) before any credentials or content are sent; ``username`` and
    ``password`` log in only after that. Without STARTTLS the sink refuses credentials,
    so a password is never sent in clear text.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        recipients: Sequence[str],
        starttls: bool = True,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if not recipients or not sender:
            raise UsageError("smtp sink", "needs a sender and at least one recipient", "set both")
        if username is not None and not starttls:
            raise UsageError(
                "smtp sink",
                "credentials without STARTTLS would cross the network in clear text",
                "enable starttls",
            )
        if any(c in a for a in (sender, *recipients) for c in "\r\n"):
            raise UsageError("smtp sink", "an address holds a line break", "fix the address")
        self._host, self._port = host, port
        self._sender, self._recipients = sender, list(recipients)
        self._starttls, self._timeout = starttls, timeout
        self._username, self._password = username, password
        self._context = tls_context

    @property
    def name(self) -> str:
        return f"smtp({self._host}:{self._port})"

    def send(self, alert: Alert) -> None:
        message = EmailMessage()
        # Header values are single-line: a message with line breaks cannot inject headers.
        subject = f"[mlwarden {alert.severity.label}] {alert.rule} {alert.message}"
        message["Subject"] = " ".join(subject.split())[:200]
        message["From"] = self._sender
        message["To"] = ", ".join(self._recipients)
        lines = [alert.message, "", f"rule: {alert.rule}", f"severity: {alert.severity.label}"]
        lines += [f"{key}: {value}" for key, value in alert.details.items()]
        message.set_content("\n".join(lines))
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as client:
                if self._starttls:
                    client.starttls(context=self._context or ssl.create_default_context())
                if self._username is not None:
                    client.login(self._username, self._password or "")
                client.send_message(message)
        except smtplib.SMTPException as exc:
            raise OSError(f"SMTP {self._host}:{self._port}: {type(exc).__name__}") from None
