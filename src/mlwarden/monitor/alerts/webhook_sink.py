"""Alerts as JSON POSTs to an HTTP(S) endpoint (a generic webhook or Slack)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

from mlwarden.errors import UsageError
from mlwarden.monitor.alerts.alert import Alert

MAX_BODY_BYTES = 64 * 1024


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects could send alert contents elsewhere: refuse."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class WebhookSink:
    """POST each alert as JSON to ``url`` (http or https only).

    ``slack=True`` sends ``{"text": "..."}`` as Slack incoming webhooks expect; otherwise
    the body is :meth:`Alert.as_dict`. Redirects are not followed; a non-2xx answer or a
    timeout raises ``OSError``. The URL may embed a token, so it never appears in errors.
    """

    def __init__(self, url: str, *, slack: bool = False, timeout: float = 5.0) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise UsageError(
                "webhook URL", "must be an http:// or https:// URL with a host", "fix the URL"
            )
        if not 0 < timeout <= 60:
            raise UsageError("timeout", f"is {timeout}", "use 0 < timeout <= 60 seconds")
        self._url = url
        self._host = parsed.hostname
        self._slack = slack
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    @property
    def name(self) -> str:
        return f"webhook({self._host})"

    def send(self, alert: Alert) -> None:
        payload = (
            {"text": f"*{alert.severity.label.upper()}* {alert.rule}: {alert.message}"}
            if self._slack
            else alert.as_dict()
        )
        body = json.dumps(payload, default=str).encode("utf-8")[:MAX_BODY_BYTES]
        request = urllib.request.Request(
            self._url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "mlwarden-monitor"},
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                response.read(4096)
                status = response.status
        except urllib.error.HTTPError as exc:
            raise OSError(f"webhook {self._host} answered HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise OSError(f"webhook {self._host} unreachable: {reason}") from None
        if not 200 <= status < 300:
            raise OSError(f"webhook {self._host} answered HTTP {status}")
