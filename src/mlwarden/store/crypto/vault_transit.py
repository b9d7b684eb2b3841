"""A key provider backed by HashiCorp Vault's transit engine (optional: needs ``hvac``).

The KEK never leaves Vault: wrapping is a transit ``encrypt`` of the data key, unwrapping a
transit ``decrypt``, rotation a transit key rotation, and retirement raises the key's
``min_decryption_version``. The token comes from the environment (``VAULT_TOKEN``), never
from configuration files.

Binding to the blob: the plaintext sent to Vault is ``SHA-256(context, aad) || DEK`` and the
hash is checked on unwrap, which works on every Vault version and key type; the ``aad`` is
also sent as transit ``associated_data`` (on by default) so a recent Vault itself refuses to
decrypt a wrapped key for another blob.

Retiring in Vault differs from the keyring file in two ways: ``min_decryption_version`` is
a floor, so retiring version *n* also retires every version below it; and Vault keeps
archived versions until an operator trims the key, so retirement is reversible by an
administrator. Crypto-shredding therefore relies on deleting wrapped data keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import re
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from mlwarden.errors import ConfigError, UsageError
from mlwarden.store.crypto.envelope import DEK_SIZE, IntegrityError
from mlwarden.store.crypto.keys import KeyState, KeyUnavailableError, KeyVersion, WrappedKey

PROVIDER_NAME: Final = "vault-transit"
TOKEN_ENV: Final = "VAULT_TOKEN"

_CONTEXT = b"mlwarden.vault-wrap/v1\x00"
_CIPHERTEXT_RE = re.compile(r"vault:v([1-9][0-9]{0,8}):[A-Za-z0-9+/=]{1,8192}")
_KEY_RE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}")
_MOUNT_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}(/[A-Za-z0-9_.-]{1,64}){0,3}")
_MAX_VERSIONS = 1_000_000
_NANOS_RE = re.compile(r"(\.\d{6})\d+")


class VaultTransitProvider:
    """A :class:`~mlwarden.store.crypto.keys.KeyProvider` over one Vault transit key.

    ``url`` must be ``https://``, or ``http://`` to a loopback address; ``verify`` is
    ``True``, or a CA bundle path. ``trust_env`` lets requests read proxies and ``.netrc``
    from the environment (off by default, so the token goes nowhere but ``url``).
    """

    name: Final = PROVIDER_NAME

    def __init__(
        self,
        *,
        url: str,
        key: str,
        token: str,
        mount: str = "transit",
        verify: bool | str = True,
        timeout: float = 10.0,
        associated_data: bool = True,
        trust_env: bool = False,
    ) -> None:
        self._url = check_url(url)
        if not _KEY_RE.fullmatch(key):
            raise ConfigError(
                f"vault key {key!r}",
                "is not a valid transit key name",
                "use letters, digits, _ . -",
            )
        if not _MOUNT_RE.fullmatch(mount) or ".." in mount.split("/"):
            raise ConfigError(
                f"vault mount {mount!r}", "is not a valid mount path", "use e.g. `transit`"
            )
        if not token:
            raise ConfigError("vault token", "is empty", f"set {TOKEN_ENV}")
        if verify is False:
            raise ConfigError(
                self._url,
                "TLS verification cannot be switched off",
                "pass the CA bundle that signed Vault's certificate as ca_cert",
            )
        self._key = key
        self._mount = mount
        self._send_ad = associated_data
        try:
            import hvac
            import requests
        except ImportError:
            raise ConfigError(
                "vault-transit key provider",
                "needs the hvac package, which is not installed",
                "install mlwarden[vault]",
            ) from None
        session = requests.Session()
        session.trust_env = trust_env
        self._client = hvac.Client(
            url=self._url,
            token=token,
            verify=verify,
            timeout=timeout,
            session=session,
            # The token travels in a custom header that requests would forward to another host.
            allow_redirects=False,
        )

    @property
    def key_id(self) -> str:
        """``mount/key`` of the transit key."""
        return f"{self._mount}/{self._key}"

    def wrap(self, dek: bytes, aad: bytes) -> WrappedKey:
        """Transit-encrypt ``dek`` with the key's latest version, bound to ``aad``."""
        if len(dek) != DEK_SIZE:
            raise ValueError(f"a data key must be {DEK_SIZE} bytes, got {len(dek)}")
        payload = _aad_hash(aad) + dek
        response = self._call(
            "encrypt",
            self._client.secrets.transit.encrypt_data,
            name=self._key,
            plaintext=_b64(payload),
            associated_data=_b64(aad) if self._send_ad else None,
            mount_point=self._mount,
        )
        ciphertext = _field(response, "ciphertext", str, self._url)
        match = _CIPHERTEXT_RE.fullmatch(ciphertext)
        if match is None:
            raise _unexpected(self._url, "the ciphertext is not in Vault's format")
        return WrappedKey(PROVIDER_NAME, self.key_id, match.group(1), ciphertext.encode("ascii"))

    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes:
        """Transit-decrypt ``wrapped`` and check that it was wrapped for ``aad``."""
        subject = f"vault transit key {self.key_id}"
        if wrapped.provider != PROVIDER_NAME or wrapped.key_id != self.key_id:
            raise KeyUnavailableError(
                subject,
                f"the data key was wrapped by {wrapped.provider} key {wrapped.key_id!r}",
                "use the key provider that wrapped it",
            )
        try:
            ciphertext = wrapped.ciphertext.decode("ascii")
        except UnicodeDecodeError:
            ciphertext = ""
        match = _CIPHERTEXT_RE.fullmatch(ciphertext)
        if match is None or match.group(1) != wrapped.version:
            raise IntegrityError(subject, "the wrapped data key is malformed or relabelled")
        response = self._call(
            "decrypt",
            self._client.secrets.transit.decrypt_data,
            name=self._key,
            ciphertext=ciphertext,
            associated_data=_b64(aad) if self._send_ad else None,
            mount_point=self._mount,
        )
        try:
            payload = base64.b64decode(_field(response, "plaintext", str, self._url), validate=True)
        except ValueError:
            payload = b""
        if len(payload) != 32 + DEK_SIZE:
            raise IntegrityError(subject, "the unwrapped data key has the wrong length")
        if not hmac.compare_digest(payload[:32], _aad_hash(aad)):
            raise IntegrityError(subject, "the data key was wrapped for another blob")
        return payload[32:]

    def rotate(self) -> KeyVersion:
        """Rotate the transit key; its new latest version becomes current."""
        self._call(
            "rotate",
            self._client.secrets.transit.rotate_key,
            name=self._key,
            mount_point=self._mount,
        )
        return next(v for v in reversed(self.versions()) if v.state == "active")

    def versions(self) -> list[KeyVersion]:
        """Versions 1 to latest: below ``min_decryption_version`` retired, latest active."""
        latest, minimum, created = self._read_key()
        result = []
        for number in range(1, latest + 1):
            state: KeyState
            if number == latest:
                state = "active"
            elif number < minimum:
                state = "retired"
            else:
                state = "decrypt-only"
            result.append(KeyVersion(str(number), created.get(number), state))
        return result

    def retire(self, version: str) -> None:
        """Raise ``min_decryption_version`` above ``version`` (retiring all below it too)."""
        subject = f"vault transit key {self.key_id}"
        if not re.fullmatch(r"[1-9][0-9]{0,8}", version):
            raise UsageError(subject, f"{version!r} is not a key version", "give a number")
        number = int(version)
        latest, minimum, _ = self._read_key()
        if number > latest:
            raise UsageError(subject, f"has no version {number}", f"the latest is {latest}")
        if number == latest:
            raise UsageError(
                subject,
                f"version {number} is the current one and cannot be retired",
                "rotate first, rewrap the data keys wrapped under it, then retire it",
            )
        if number < minimum:
            return
        self._call(
            "configure",
            self._client.secrets.transit.update_key_configuration,
            name=self._key,
            min_decryption_version=number + 1,
            mount_point=self._mount,
        )

    def _read_key(self) -> tuple[int, int, dict[int, datetime]]:
        """(latest version, min decryption version, creation times by version)."""
        response = self._call(
            "read key",
            self._client.secrets.transit.read_key,
            name=self._key,
            mount_point=self._mount,
        )
        latest = _field(response, "latest_version", int, self._url)
        minimum = _field(response, "min_decryption_version", int, self._url)
        keys = _field(response, "keys", dict, self._url)
        if not 1 <= latest <= _MAX_VERSIONS or not 0 <= minimum <= latest + 1:
            raise _unexpected(self._url, "the key's version numbers are out of range")
        created: dict[int, datetime] = {}
        for name, value in list(keys.items())[:_MAX_VERSIONS]:
            when = _creation_time(value)
            if isinstance(name, str) and name.isdigit() and when is not None:
                created[int(name)] = when
        return latest, minimum, created

    def _call(self, action: str, method: Any, **params: Any) -> Any:
        """Call an hvac method and turn its failures into mlwarden errors."""
        import hvac.exceptions
        import requests

        subject = f"vault transit key {self.key_id} at {self._url}"
        try:
            return method(**{k: v for k, v in params.items() if v is not None})
        except hvac.exceptions.InvalidRequest as exc:
            text = " ".join(exc.errors or [str(exc)]) if hasattr(exc, "errors") else str(exc)
            lowered = text.lower()
            if action == "decrypt" and "disallowed by policy" in lowered:
                raise KeyUnavailableError(
                    subject,
                    "the key version that wrapped this data key is retired "
                    "(below min_decryption_version)",
                    "the blob is crypto-shredded unless a Vault operator lowers "
                    "min_decryption_version",
                ) from None
            if action == "decrypt":
                raise IntegrityError(
                    subject, f"Vault refused to decrypt the wrapped data key ({text})"
                ) from None
            raise KeyUnavailableError(subject, f"Vault refused to {action}: {text}", _FIX) from None
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
            raise KeyUnavailableError(
                subject,
                f"the token may not {action} with this key",
                f"check {TOKEN_ENV} and the token's policy",
            ) from None
        except hvac.exceptions.InvalidPath:
            raise KeyUnavailableError(
                subject, "Vault has no such transit mount or key", "check mount and key"
            ) from None
        except hvac.exceptions.VaultError as exc:
            raise KeyUnavailableError(subject, f"Vault failed to {action}: {exc}", _FIX) from None
        except requests.RequestException as exc:
            raise KeyUnavailableError(
                subject, f"cannot reach Vault ({type(exc).__name__})", _FIX
            ) from None


_FIX = "check that Vault is reachable and unsealed, then retry"


def from_config(
    url: str,
    key: str,
    mount: str = "transit",
    token_env: str = TOKEN_ENV,
    ca_cert: str | None = None,
    timeout: float = 10.0,
    associated_data: bool = True,
    trust_env: bool = False,
) -> VaultTransitProvider:
    """Build the provider for :func:`~mlwarden.store.crypto.keys.provider_from_config`.

    The token is read from the environment variable ``token_env``.
    """
    token = os.environ.get(token_env, "")
    if not token:
        raise ConfigError(token_env, "is not set", "export the Vault token in this variable")
    return VaultTransitProvider(
        url=url,
        key=key,
        token=token,
        mount=mount,
        verify=ca_cert if ca_cert is not None else True,
        timeout=timeout,
        associated_data=associated_data,
        trust_env=trust_env,
    )


def check_url(url: str) -> str:
    """Return ``url`` without a trailing slash if it is an acceptable Vault address.

    Refuses anything but ``https://``, or ``http://`` to a loopback host; credentials,
    paths, queries and fragments in the URL are refused too.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigError(url, "is not an http(s) URL with a host", "use https://HOST:8200")
    if parts.username or parts.password or parts.path not in ("", "/"):
        raise ConfigError(url, "holds credentials or a path", "give only https://HOST:PORT")
    if parts.query or parts.fragment:
        raise ConfigError(url, "holds a query or fragment", "give only https://HOST:PORT")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ConfigError(
            url,
            "sends the Vault token over plain http to a host that is not loopback",
            "use https",
        )
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _aad_hash(aad: bytes) -> bytes:
    return hashlib.sha256(_CONTEXT + aad).digest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _field(response: Any, name: str, kind: type, url: str) -> Any:
    data = response.get("data") if isinstance(response, dict) else None
    value = data.get(name) if isinstance(data, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _unexpected(url, f"its answer has no valid {name!r}")
    return value


def _unexpected(url: str, problem: str) -> KeyUnavailableError:
    return KeyUnavailableError(
        url, f"Vault's answer is not what the transit API returns: {problem}", _FIX
    )


def _creation_time(value: object) -> datetime | None:
    """Vault gives Unix seconds for symmetric keys and an RFC 3339 string (nanoseconds)
    inside an object for asymmetric ones."""
    if isinstance(value, dict):
        value = value.get("creation_time")
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 40:
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and len(value) <= 64:
        try:
            return datetime.fromisoformat(_NANOS_RE.sub(r"\1", value))
        except ValueError:
            return None
    return None
