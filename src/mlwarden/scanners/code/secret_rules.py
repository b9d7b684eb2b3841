"""The ``MLW-SEC-*`` rules: one per credential family, plus the generic entropy rule.

Ids are stable. Severity is the default for a live-looking credential; detectors lower
it where the format says the credential is weaker (a test key, an encrypted private key,
a token whose checksum could not be verified).
"""

from __future__ import annotations

from mlwarden.findings import Rule, Severity
from mlwarden.taxonomy import (
    ATLAS_UNSECURED_CREDENTIALS,
    CWE_CLEARTEXT_STORAGE,
    CWE_HARDCODED_CREDENTIALS,
)

SECRET_TAGS: tuple[str, ...] = (
    CWE_HARDCODED_CREDENTIALS,
    CWE_CLEARTEXT_STORAGE,
    ATLAS_UNSECURED_CREDENTIALS,
)

_ROTATE = (
    "Revoke the credential at its issuer now (it is exposed to everyone who can read this "
    "file or its history), issue a new one, and load it at run time from a secret manager "
    "or an environment variable instead of writing it into code, configs or notebooks."
)


def _rule(rule_id: str, title: str, severity: Severity, description: str) -> Rule:
    return Rule(rule_id, title, severity, _ROTATE, SECRET_TAGS, description)


AWS_KEY_ID = _rule(
    "MLW-SEC-001",
    "AWS access key ID",
    Severity.HIGH,
    "An AKIA (long-term) or ASIA (temporary) access key ID. It names a key rather than "
    "proving it, but its secret key is rarely far away; it is critical when the secret "
    "follows it.",
)
AWS_SECRET = _rule(
    "MLW-SEC-002",
    "AWS secret access key",
    Severity.CRITICAL,
    "A 40-character secret access key assigned to an aws_secret_access_key-like name.",
)
GCP_SERVICE_ACCOUNT = _rule(
    "MLW-SEC-003",
    "Google Cloud service-account key",
    Severity.CRITICAL,
    "A service-account JSON key file: a private key that signs in as the service account.",
)
GOOGLE_API_KEY = _rule(
    "MLW-SEC-004",
    "Google API key",
    Severity.HIGH,
    "An AIza... API key (Maps, Gemini, Firebase and other Google APIs bill to its project).",
)
AZURE_STORAGE = _rule(
    "MLW-SEC-005",
    "Azure storage account key or SAS signature",
    Severity.CRITICAL,
    "An AccountKey in a connection string (full control of the storage account) or the "
    "signature of a shared access signature URL.",
)
CLIENT_SECRET = _rule(
    "MLW-SEC-006",
    "OAuth / Azure AD client secret",
    Severity.HIGH,
    "An Entra ID (Azure AD) application secret (recognised by its Q~ marker), a Google "
    "OAuth client secret (GOCSPX-), or a value assigned to a client_secret name.",
)
GITHUB = _rule(
    "MLW-SEC-007",
    "GitHub token",
    Severity.CRITICAL,
    "A GitHub personal, OAuth, app or refresh token whose built-in checksum is valid.",
)
GITLAB = _rule(
    "MLW-SEC-008",
    "GitLab token",
    Severity.CRITICAL,
    "A GitLab personal, deploy or runner token (glpat-, gldt-, glrt-).",
)
OPENAI = _rule(
    "MLW-SEC-009",
    "OpenAI API key",
    Severity.CRITICAL,
    "An OpenAI user, project, service-account or admin key (they embed the T3BlbkFJ marker).",
)
ANTHROPIC = _rule(
    "MLW-SEC-010", "Anthropic API key", Severity.CRITICAL, "An sk-ant- API or admin key."
)
HUGGING_FACE = _rule(
    "MLW-SEC-011",
    "Hugging Face token",
    Severity.CRITICAL,
    "An hf_ user access token or api_org_ organisation token: it can read private models "
    "and data sets and, with write scope, replace the models others download.",
)
WANDB = _rule(
    "MLW-SEC-012",
    "Weights & Biases API key",
    Severity.HIGH,
    "A 40-hex W&B API key given to WANDB_API_KEY, wandb.login(key=...) or a netrc entry "
    "for api.wandb.ai.",
)
DATABRICKS = _rule(
    "MLW-SEC-013",
    "Databricks personal access token",
    Severity.CRITICAL,
    "A dapi... token for a Databricks workspace.",
)
KAGGLE = _rule(
    "MLW-SEC-014",
    "Kaggle API key",
    Severity.HIGH,
    'A kaggle.json {"username", "key"} pair or a KAGGLE_KEY value.',
)
COMET = _rule(
    "MLW-SEC-015", "Comet API key", Severity.HIGH, "A value given to COMET_API_KEY or api_key=."
)
NEPTUNE = _rule(
    "MLW-SEC-016",
    "Neptune API token",
    Severity.HIGH,
    "A Neptune API token: base64 of a JSON object with api_address and the key.",
)
SLACK = _rule(
    "MLW-SEC-017",
    "Slack token or webhook",
    Severity.HIGH,
    "A Slack bot, user, app or configuration token, or an incoming-webhook URL.",
)
STRIPE = _rule(
    "MLW-SEC-018",
    "Stripe secret key",
    Severity.CRITICAL,
    "A Stripe secret or restricted key; live keys move money, test keys are medium.",
)
PRIVATE_KEY = _rule(
    "MLW-SEC-019",
    "Private key",
    Severity.CRITICAL,
    "A PEM, OpenSSH or PuTTY private key with a body; encrypted keys are high.",
)
JWT = _rule(
    "MLW-SEC-020",
    "JSON Web Token",
    Severity.HIGH,
    "A signed (or alg=none) JWT: a bearer credential until it expires.",
)
DATABASE_URL = _rule(
    "MLW-SEC-021",
    "Database URL with a password",
    Severity.HIGH,
    "A postgres, mysql, mongodb(+srv), redis, amqp or similar URL with user:password@host.",
)
NPM = _rule(
    "MLW-SEC-022",
    "npm access token",
    Severity.CRITICAL,
    "An npm_ token whose checksum is valid: it can publish packages.",
)
PYPI = _rule(
    "MLW-SEC-023",
    "PyPI upload token",
    Severity.CRITICAL,
    "A pypi- macaroon for pypi.org (test.pypi.org tokens are medium): it can publish packages.",
)
GENERIC = _rule(
    "MLW-SEC-030",
    "High-entropy secret in an assignment",
    Severity.MEDIUM,
    "A random-looking value assigned to a password, secret, token, key or credential name, "
    "or sent in an Authorization header, that matches no known format.",
)

SECRET_RULES: tuple[Rule, ...] = (
    AWS_KEY_ID,
    AWS_SECRET,
    GCP_SERVICE_ACCOUNT,
    GOOGLE_API_KEY,
    AZURE_STORAGE,
    CLIENT_SECRET,
    GITHUB,
    GITLAB,
    OPENAI,
    ANTHROPIC,
    HUGGING_FACE,
    WANDB,
    DATABRICKS,
    KAGGLE,
    COMET,
    NEPTUNE,
    SLACK,
    STRIPE,
    PRIVATE_KEY,
    JWT,
    DATABASE_URL,
    NPM,
    PYPI,
    GENERIC,
)
