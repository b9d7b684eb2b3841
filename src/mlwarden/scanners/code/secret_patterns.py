"""The credential detectors: one pattern and one check per token format.

Each detector's pattern is written once with a named group ``s`` around the secret.
All patterns are joined into one alternation compiled with RE2 (linear time on any
input, one pass over the bytes); only the rare candidates it finds are matched again
with Python's ``re`` to extract the secret and run the detector's check (checksum,
decoding, placeholder and context tests). A check returns None to drop a candidate.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from mlwarden.findings import Rule, Severity
from mlwarden.scanners.code import secret_rules as R
from mlwarden.scanners.code.entropy import judge
from mlwarden.scanners.code.placeholders import is_placeholder_token, is_placeholder_value
from mlwarden.scanners.code.token_checks import (
    azure_account_key_ok,
    b64decode_loose,
    base64_text,
    github_classic_ok,
    github_fine_grained_ok,
    gitlab_routable_ok,
    jwt_ok,
    neptune_token_ok,
    openssh_cipher,
)


@dataclass(frozen=True)
class Hit:
    """A credential found in a segment of text."""

    rule: Rule
    start: int
    """Byte offset of the secret in the scanned segment."""
    end: int
    secret: bytes
    """The exact secret (hashed for baselines, never shown)."""
    severity: Severity
    shown: int
    """How many leading bytes of ``secret`` are a public prefix that may be shown."""
    note: str = ""


@dataclass(frozen=True)
class Candidate:
    """A pattern match handed to a detector's check."""

    match: re.Match[bytes]
    segment: bytes

    @property
    def secret(self) -> bytes:
        return self.match.group("s")

    def hit(
        self,
        rule: Rule,
        severity: Severity | None = None,
        *,
        shown: int = 0,
        note: str = "",
        secret: bytes | None = None,
    ) -> Hit:
        start, end = self.match.span("s")
        return Hit(
            rule,
            start,
            end,
            self.secret if secret is None else secret,
            rule.severity if severity is None else severity,
            shown,
            note,
        )


Check = Callable[[Candidate], Hit | None]


@dataclass(frozen=True)
class Detector:
    name: str
    pattern: bytes
    check: Check


# An assignment between a name and its value, in every syntax the scanned files use:
# ``K = "v"``, ``K: v``, ``"K": "v"``, ``K=v``, ``environ["K"] = "v"``, ``setdefault("K", "v")``,
# ``K => 'v'``, ``K := v``; Python string prefixes (b, r, f) are allowed before a quote.
SEP = rb"""["'`\])]{0,3}\s{0,6}(?:=>|:=|=|:|,)\s{0,6}(?:[\[(]\s{0,4})?(?:[bBrRuUfF]{0,2}["'`])?"""


def _ctx(keyword: bytes, value: bytes, end: bytes = rb"\b") -> bytes:
    return keyword + SEP + rb"(?P<s>" + value + rb")" + end


# --- checks -----------------------------------------------------------------------------

_AWS_PAIR = re.compile(rb"""[\s,;|:"'=]{1,6}([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])""")
_AWS_ID = re.compile(rb"\b(?:AKIA|ASIA)[A-Z2-7]{16}\b")


def _random40(value: bytes) -> bool:
    return judge(value, password_key=False).random and not is_placeholder_value(value)


def _aws_key_id(c: Candidate) -> Hit | None:
    token = c.secret
    if is_placeholder_token(token[4:]):
        return None
    temporary = token.startswith(b"ASIA")
    kind = "temporary (ASIA)" if temporary else "long-term (AKIA)"
    pair = _AWS_PAIR.match(c.segment, c.match.end("s"))
    if pair and _random40(pair.group(1)):
        return c.hit(
            R.AWS_KEY_ID,
            Severity.CRITICAL,
            shown=4,
            note=f"{kind} key ID followed by its secret access key",
            secret=token + b":" + pair.group(1),
        )
    return c.hit(R.AWS_KEY_ID, shown=4, note=f"{kind} key ID")


def _aws_secret(c: Candidate) -> Hit | None:
    if not _random40(c.secret):
        return None
    lo, hi = max(0, c.match.start() - 4096), c.match.end() + 4096
    paired = _AWS_ID.search(c.segment, lo, hi)
    note = f"paired with access key ID {paired.group()[:4].decode()}…" if paired else ""
    return c.hit(R.AWS_SECRET, note=note)


_SA_TYPE = re.compile(rb'"type"\s*:\s*"service_account"')


def _gcp_service_account(c: Candidate) -> Hit | None:
    body = base64_text(c.secret.partition(b"-----")[2].partition(b"-----")[2])
    if len(body) < 40 or is_placeholder_token(body):
        return None
    lo, hi = max(0, c.match.start() - 65_536), c.match.end() + 65_536
    if _SA_TYPE.search(c.segment, lo, hi):
        return c.hit(R.GCP_SERVICE_ACCOUNT, shown=0, note="service-account JSON with its key")
    return c.hit(R.PRIVATE_KEY, note="private key in a JSON document")


def _prefixed(rule: Rule, prefix_len: int, severity: Severity | None = None) -> Check:
    def check(c: Candidate) -> Hit | None:
        if is_placeholder_token(c.secret[prefix_len:]):
            return None
        return c.hit(rule, severity, shown=prefix_len)

    return check


def _hugging_face(c: Candidate) -> Hit | None:
    prefix = 3 if c.secret.startswith(b"hf_") else 8  # hf_ or api_org_
    return None if is_placeholder_token(c.secret[prefix:]) else c.hit(R.HUGGING_FACE, shown=prefix)


def _azure_account_key(c: Candidate) -> Hit | None:
    if not azure_account_key_ok(c.secret) or is_placeholder_token(c.secret):
        return None
    return c.hit(R.AZURE_STORAGE, note="storage account key")


_SAS_VERSION = re.compile(rb"[?&;]sv=\d{4}-\d{2}-\d{2}")


def _azure_sas(c: Candidate) -> Hit | None:
    lo = max(0, c.match.start() - 1024)
    if not _SAS_VERSION.search(c.segment, lo, c.match.end() + 1024):
        return None
    signature = b64decode_loose(urllib.parse.unquote_to_bytes(c.secret))
    if signature is None or len(signature) != 32:
        return None
    return c.hit(R.AZURE_STORAGE, Severity.HIGH, note="shared access signature")


def _client_secret_format(c: Candidate) -> Hit | None:
    if is_placeholder_token(c.secret) or not judge(c.secret, password_key=False).random:
        return None
    return c.hit(R.CLIENT_SECRET, note="Entra ID application secret")


_IDENTIFIER = re.compile(rb"[A-Za-z_][A-Za-z0-9_.-]*")
_WORD_TOKENS = re.compile(rb"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


def code_like(value: bytes) -> bool:
    """True for values that are names in code rather than secrets: dotted or snake/camel
    identifiers made of words (``args.oauth2_client_secret``, ``oauth2ClientSecret``) and
    expressions such as ``minimum_port=8080``."""
    if b"=" in value.rstrip(b"="):
        return True
    if not _IDENTIFIER.fullmatch(value):
        return False
    tokens = _WORD_TOKENS.findall(value)
    digits = [t for t in tokens if t.isdigit()]
    words = [t for t in tokens if not t.isdigit()]
    return bool(words) and all(len(w) >= 3 for w in words) and sum(map(len, digits)) <= 2


def _client_secret_context(c: Candidate) -> Hit | None:
    if is_placeholder_value(c.secret) or code_like(c.secret):
        return None
    if not judge(c.secret, password_key=False).random:
        return None
    return c.hit(R.CLIENT_SECRET, note="value of a client_secret name")


def _github_classic(c: Candidate) -> Hit | None:
    token = c.secret
    if github_classic_ok(token):
        return c.hit(R.GITHUB, shown=4)
    if token.startswith(b"ghs_") and not is_placeholder_token(token[4:]):
        # Installation tokens are short-lived; without a valid checksum they are reported
        # on their shape alone, at lower confidence.
        return c.hit(R.GITHUB, Severity.MEDIUM, shown=4, note="checksum not verified")
    return None


def _github_fine_grained(c: Candidate) -> Hit | None:
    return c.hit(R.GITHUB, shown=11) if github_fine_grained_ok(c.secret) else None


_GITLAB_VERSIONED = re.compile(
    rb"(?P<prefix>gl[a-z]+-)(?P<payload>[0-9A-Za-z_-]{27,300})\.(?P<version>[0-9a-z]{2})"
    rb"\.(?P<length>[0-9a-z]{2})(?P<crc>[0-9a-z]{7})"
)
_GITLAB_ROUTABLE = re.compile(rb"gl[a-z]+-[0-9A-Za-z_-]{27,300}\.[0-9a-z]{2}[0-9a-z]{7}")
_GITLAB_LEGACY = re.compile(rb"gl[a-z]+-[0-9A-Za-z_-]{20}")


def _gitlab(c: Candidate) -> Hit | None:
    token = c.secret.rstrip(b".")
    shown = token.index(b"-") + 1
    if is_placeholder_token(token[shown:]):
        return None
    versioned = _GITLAB_VERSIONED.fullmatch(token)
    if versioned:
        g = versioned.group
        if gitlab_routable_ok(g("prefix"), g("payload"), g("version"), g("length")) != g("crc"):
            return None
        return c.hit(R.GITLAB, shown=shown, secret=token)
    if _GITLAB_ROUTABLE.fullmatch(token):
        return c.hit(
            R.GITLAB, Severity.HIGH, shown=shown, note="checksum not verified", secret=token
        )
    if _GITLAB_LEGACY.fullmatch(token):
        return c.hit(R.GITLAB, shown=shown, secret=token)
    return None


def _openai(c: Candidate) -> Hit | None:
    token = c.secret
    shown = 8 if token.startswith(b"sk-proj-") else 3
    if is_placeholder_token(token[shown:].replace(b"T3BlbkFJ", b"")):
        return None
    return c.hit(R.OPENAI, shown=shown)


def _stripe(c: Candidate) -> Hit | None:
    token = c.secret
    if is_placeholder_token(token[8:]):
        return None
    if b"_test_" in token[:8]:
        return c.hit(R.STRIPE, Severity.MEDIUM, shown=8, note="test-mode key")
    return c.hit(R.STRIPE, shown=8)


def _hex_context(rule: Rule) -> Check:
    def check(c: Candidate) -> Hit | None:
        if is_placeholder_value(c.secret) or not judge(c.secret, password_key=False).random:
            return None
        return c.hit(rule)

    return check


def _comet(c: Candidate) -> Hit | None:
    if is_placeholder_value(c.secret) or not judge(c.secret, password_key=False).random:
        return None
    return c.hit(R.COMET)


def _neptune(c: Candidate) -> Hit | None:
    return c.hit(R.NEPTUNE) if neptune_token_ok(c.secret) else None


def _slack(c: Candidate) -> Hit | None:
    token = c.secret
    tail = token.rsplit(b"-", 1)[-1] if b"hooks.slack.com" not in token else token.rsplit(b"/")[-1]
    if len(tail) < 20 or is_placeholder_token(tail):
        return None
    shown = 5 if token.startswith(b"xox") else 0
    return c.hit(R.SLACK, shown=shown)


_PEM_BODY = re.compile(
    rb"(?:(?:\\r|\\n|\s)*(?:Proc-Type|DEK-Info|Version|Comment|Hash)[^\r\n\\]{0,200})*"
    rb"(?:\\r|\\n|\s)+(?P<b>[A-Za-z0-9+/=\s\\rn]{40,400})"
)


def _private_key(c: Candidate) -> Hit | None:
    header = c.secret
    after = c.segment[c.match.end() : c.match.end() + 1024]
    body_match = _PEM_BODY.match(after)
    if body_match is None:
        return None
    body = base64_text(body_match.group("b"))
    if len(body) < 40 or is_placeholder_token(body):
        return None
    secret = header + body[:256]
    encrypted = b"ENCRYPTED" in header or b"ENCRYPTED" in after[: body_match.start("b")]
    if b"OPENSSH" in header:
        cipher = openssh_cipher(body)
        if cipher is None:
            return None
        encrypted = cipher != "none"
    else:
        decoded = b64decode_loose(body[: (len(body) // 4) * 4])
        if not decoded:
            return None
        # DER keys (PKCS#1, PKCS#8, SEC1) start with a SEQUENCE tag; OpenPGP armour with a
        # packet tag, whose high bit is always set.
        first = decoded[0]
        if not (first & 0x80 if b"PGP" in header else first == 0x30):
            return None
    if encrypted:
        return c.hit(
            R.PRIVATE_KEY,
            Severity.HIGH,
            shown=len(header),
            secret=secret,
            note="encrypted with a passphrase",
        )
    return c.hit(R.PRIVATE_KEY, shown=len(header), secret=secret, note="unencrypted")


_PUTTY_TAIL = re.compile(
    rb"Encryption:\s*(?P<enc>[a-z0-9-]+)[\s\S]{0,4096}?Private-Lines:\s*\d+(?:\\n|\s)+"
    rb"(?P<private>[A-Za-z0-9+/=]{16,200})"
)


def _putty(c: Candidate) -> Hit | None:
    tail = _PUTTY_TAIL.search(c.segment, c.match.end(), c.match.end() + 8192)
    if tail is None or is_placeholder_token(tail.group("private")):
        return None
    encrypted = tail.group("enc") != b"none"
    return c.hit(
        R.PRIVATE_KEY,
        Severity.HIGH if encrypted else Severity.CRITICAL,
        shown=len(c.secret) + 1,
        secret=c.secret + b" " + tail.group("private"),
        note="PuTTY key " + ("encrypted" if encrypted else "unencrypted"),
    )


_JWT_FULL = re.compile(rb"[A-Za-z0-9_-]{12,8000}\.[A-Za-z0-9_-]{4,16000}\.[A-Za-z0-9_-]{0,4000}")


def _jwt(c: Candidate) -> Hit | None:
    # The pattern covers the header and the start of the payload; the whole token is
    # read here, bounded, so long ID tokens are judged whole.
    start = c.match.start("s")
    whole = _JWT_FULL.match(c.segment, start, start + 28_010)
    if whole is None or not jwt_ok(whole.group()):
        return None
    return Hit(R.JWT, start, whole.end(), whole.group(), R.JWT.severity, 0)


_DB_URL = re.compile(
    rb"(?P<scheme>[^:]+)://(?P<user>[^:]*):(?P<password>[^@]+)@(?P<host>[A-Za-z0-9._\[\]-]+)"
)
_LOOPBACK = (b"localhost", b"127.0.0.1", b"[::1]", b"0.0.0.0", b"host.docker.internal")


def _database_url(c: Candidate) -> Hit | None:
    parts = _DB_URL.fullmatch(c.secret)
    if parts is None:
        return None
    password = urllib.parse.unquote_to_bytes(parts.group("password"))
    user = parts.group("user")
    if is_placeholder_value(password) or password == user or password == b"postgres":
        return None
    if not judge(password, password_key=True).random:
        return None  # ``scott:tiger``, ``user:pass``: documentation, not a deployed password
    start = c.match.start("s")
    pw_start = start + parts.start("password")
    pw_end = start + parts.end("password")
    host = parts.group("host").decode("ascii", "replace")
    scheme = parts.group("scheme").decode("ascii", "replace")
    loopback = parts.group("host").lower() in _LOOPBACK
    return Hit(
        R.DATABASE_URL,
        pw_start,
        pw_end,
        password,
        Severity.MEDIUM if loopback else R.DATABASE_URL.severity,
        0,
        f"{scheme}://{user.decode('ascii', 'replace')[:32]}:…@{host}",
    )


def _npm(c: Candidate) -> Hit | None:
    return c.hit(R.NPM, shown=4) if github_classic_ok(c.secret) else None


def _pypi(c: Candidate) -> Hit | None:
    body = c.secret[5:]
    decoded = b64decode_loose(body[: (len(body) // 4) * 4])
    if decoded is None:
        return None
    if b"test.pypi.org" in decoded[:64]:
        return c.hit(R.PYPI, Severity.MEDIUM, shown=5, note="test.pypi.org token")
    if b"pypi.org" in decoded[:64]:
        return c.hit(R.PYPI, shown=5)
    return None


# --- the table --------------------------------------------------------------------------

_B64URL_END = rb"(?:[^A-Za-z0-9_-]|$)"

DETECTORS: tuple[Detector, ...] = (
    # Context patterns first: at one position RE2 prefers the earlier alternative, and a
    # keyword starts before the value it names.
    Detector(
        "aws-secret-access-key",
        _ctx(
            rb"(?i:aws_?secret_?(?:access_?)?key|secret_?access_?key)",
            rb"[A-Za-z0-9/+]{40}",
            rb"(?:[^A-Za-z0-9/+=]|$)",
        ),
        _aws_secret,
    ),
    Detector("aws-access-key-id", rb"\b(?P<s>(?:AKIA|ASIA)[A-Z2-7]{16})\b", _aws_key_id),
    Detector(
        "gcp-service-account",
        rb'"private_key"\s{0,4}:\s{0,4}"(?P<s>-----BEGIN [A-Z ]{0,20}PRIVATE KEY-----'
        rb"[A-Za-z0-9+/=\\ \r\n]{64,400})",
        _gcp_service_account,
    ),
    Detector(
        "google-api-key",
        rb"\b(?P<s>AIza[0-9A-Za-z_-]{35})" + _B64URL_END,
        _prefixed(R.GOOGLE_API_KEY, 4),
    ),
    Detector(
        "azure-account-key",
        rb"(?i:AccountKey)\s{0,2}=\s{0,2}(?P<s>[A-Za-z0-9+/]{86}==)",
        _azure_account_key,
    ),
    Detector(
        "azure-sas",
        rb"[?&;](?i:sig)=(?P<s>[A-Za-z0-9%+/]{40,100}(?:%3[Dd]|=){0,2})",
        _azure_sas,
    ),
    Detector(
        "client-secret-context",
        _ctx(
            rb"(?i:client[_-]?secret)",
            rb"[A-Za-z0-9_~.+/=-]{16,128}",
            rb"(?:[^A-Za-z0-9_~.+/=-]|$)",
        ),
        _client_secret_context,
    ),
    Detector(
        "entra-client-secret",
        rb"(?:^|[^A-Za-z0-9_~.-])(?P<s>[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})"
        rb"(?:[^A-Za-z0-9_~.-]|$)",
        _client_secret_format,
    ),
    Detector(
        "google-oauth-client-secret",
        rb"\b(?P<s>GOCSPX-[A-Za-z0-9_-]{28})" + _B64URL_END,
        _prefixed(R.CLIENT_SECRET, 7),
    ),
    Detector("github-classic", rb"\b(?P<s>gh[pousr]_[A-Za-z0-9]{36,251})\b", _github_classic),
    Detector(
        "github-fine-grained",
        rb"\b(?P<s>github_pat_[0-9][A-Za-z0-9]{21}_[A-Za-z0-9]{59})\b",
        _github_fine_grained,
    ),
    Detector(
        "gitlab",
        rb"\b(?P<s>gl(?:pat|dt|rt)-[0-9A-Za-z_.-]{20,330})(?:[^0-9A-Za-z_.-]|$)",
        _gitlab,
    ),
    Detector(
        "openai",
        rb"\b(?P<s>sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{16,250}T3BlbkFJ"
        rb"[A-Za-z0-9_-]{16,250})" + _B64URL_END,
        _openai,
    ),
    Detector(
        "anthropic",
        rb"\b(?P<s>sk-ant-(?:api|admin|oat|ort)[0-9]{2}-[A-Za-z0-9_-]{80,120})" + _B64URL_END,
        _prefixed(R.ANTHROPIC, 14),
    ),
    Detector(
        "hugging-face",
        rb"\b(?P<s>(?:hf_|api_org_)[A-Za-z]{34})\b",
        _hugging_face,
    ),
    Detector(
        "wandb-env",
        _ctx(rb"(?i:WANDB_API_KEY)", rb"(?:local-)?[0-9a-f]{40}"),
        _hex_context(R.WANDB),
    ),
    Detector(
        "wandb-login",
        rb"wandb\.login\([^)]{0,200}?\bkey\s{0,4}=\s{0,4}[bru]{0,2}[\"'](?P<s>(?:local-)?"
        rb"[0-9a-f]{40})[\"']",
        _hex_context(R.WANDB),
    ),
    Detector(
        "wandb-netrc",
        rb"machine\s+api\.wandb\.ai\s+login\s+\S{1,64}\s+password\s+(?P<s>(?:local-)?"
        rb"[0-9a-f]{40})\b",
        _hex_context(R.WANDB),
    ),
    Detector(
        "databricks",
        rb"\b(?P<s>dapi[0-9a-f]{32}(?:-[0-9])?)\b",
        _prefixed(R.DATABRICKS, 4),
    ),
    Detector(
        "kaggle-json",
        rb'"username"\s{0,4}:\s{0,4}"[^"\r\n]{1,64}"\s{0,4},\s{0,4}"key"\s{0,4}:\s{0,4}"'
        rb'(?P<s>[0-9a-f]{32})"',
        _hex_context(R.KAGGLE),
    ),
    Detector(
        "kaggle-json-key-first",
        rb'"key"\s{0,4}:\s{0,4}"(?P<s>[0-9a-f]{32})"\s{0,4},\s{0,4}"username"',
        _hex_context(R.KAGGLE),
    ),
    Detector("kaggle-env", _ctx(rb"(?i:KAGGLE_KEY)", rb"[0-9a-f]{32}"), _hex_context(R.KAGGLE)),
    Detector("comet-env", _ctx(rb"(?i:COMET_API_KEY)", rb"[A-Za-z0-9]{20,64}"), _comet),
    Detector(
        "comet-call",
        rb"comet_ml\.[A-Za-z_]{2,30}\([^)]{0,300}?\bapi_key\s{0,4}=\s{0,4}[bru]{0,2}[\"']"
        rb"(?P<s>[A-Za-z0-9]{20,64})[\"']",
        _comet,
    ),
    Detector(
        "neptune-env",
        _ctx(rb"(?i:NEPTUNE_API_TOKEN)", rb"[A-Za-z0-9+/_-]{40,800}={0,2}", rb""),
        _neptune,
    ),
    Detector(
        "neptune-token",
        rb"\b(?P<s>eyJhcGlfYWRkcmVzcyI6[A-Za-z0-9+/_-]{20,800}={0,2})",
        _neptune,
    ),
    Detector(
        "slack-token",
        rb"\b(?P<s>(?:xox[abposr]|xoxe\.xox[bp]|xoxe)-[0-9]{1,16}-[0-9A-Za-z-]{8,250})"
        rb"(?:[^0-9A-Za-z-]|$)",
        _slack,
    ),
    Detector(
        "slack-app-token",
        rb"\b(?P<s>xapp-[0-9]-[A-Z0-9]{8,16}-[0-9]{8,16}-[a-f0-9]{64})\b",
        _slack,
    ),
    Detector(
        "slack-webhook",
        rb"(?P<s>https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,12}/"
        rb"[A-Z0-9]{6,14}/[A-Za-z0-9]{20,40})",
        _slack,
    ),
    Detector("stripe", rb"\b(?P<s>(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,247})\b", _stripe),
    Detector(
        "private-key",
        rb"(?P<s>-----BEGIN (?:[A-Z0-9]{1,16} ){0,3}PRIVATE KEY(?: BLOCK)?-----)",
        _private_key,
    ),
    Detector("putty-key", rb"(?P<s>PuTTY-User-Key-File-[23]: [a-z0-9-]{3,40})", _putty),
    Detector(
        "jwt",
        rb"\b(?P<s>ey[A-Za-z0-9_-]{10,1000}\.[A-Za-z0-9_-]{4,1000})",
        _jwt,
    ),
    Detector(
        "database-url",
        rb"(?P<s>(?i:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql"
        rb"|sqlserver|oracle|cockroachdb|clickhouse|snowflake)(?:\+[a-z0-9_]{1,20})?://"
        rb"[^\s:/?#@\"'<>]{0,128}:[^\s/?#@\"'<>]{1,256}@[A-Za-z0-9._\[\]-]{1,253})",
        _database_url,
    ),
    Detector("npm", rb"\b(?P<s>npm_[A-Za-z0-9]{36})\b", _npm),
    Detector("pypi", rb"\b(?P<s>pypi-AgE[A-Za-z0-9_-]{50,1000})", _pypi),
)

MAX_MATCH = 32_768
"""Longest span a detector can report, checks included (the scan windows overlap by it)."""
