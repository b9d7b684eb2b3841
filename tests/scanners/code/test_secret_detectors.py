"""Secrets in source files: every detector finds its real-format tokens, nothing else fires.

The tokens come from ``fake_secrets`` (random bodies, correct checksums computed there).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import random
import uuid

import pytest
from fake_secrets import (
    ALNUM,
    HEX,
    FakeSecret,
    env_file,
    fake_secrets,
    github_classic,
    github_fine_grained,
    gitlab_routable,
    python_file,
    wrong_checksum,
    yaml_file,
)
from secret_scanning import rule_ids, scan_source

from mlwarden.findings import Finding, Severity
from mlwarden.scanners.code import SECRET_RULES
from mlwarden.scanners.code.secret_finding import SecretFinding, secret_digest

SECRETS = fake_secrets()
EMBEDDINGS = {
    "python": (python_file, "train.py"),
    "env": (env_file, ".env"),
    "yaml": (yaml_file, "pipeline.yaml"),
}


def _expected_line(text: str, start_line: int, secret: FakeSecret) -> int:
    # Multi-line snippets (PEM blocks, YAML block scalars, netrc) hold the secret's
    # first line a line or two after where the snippet starts.
    probe = secret.probe
    lines = text.split("\n")
    for number in range(start_line, len(lines) + 1):
        if probe in lines[number - 1]:
            return number
    raise AssertionError(f"{secret.kind} not written into the file")


def test_the_generated_set_covers_every_rule() -> None:
    assert {s.rule_id for s in SECRETS} == {r.id for r in SECRET_RULES}


@pytest.mark.parametrize("embedding", sorted(EMBEDDINGS))
def test_every_generated_secret_is_found_on_its_line_with_its_rule(embedding: str) -> None:
    make, name = EMBEDDINGS[embedding]
    text, where = make(SECRETS)
    found = scan_source(text, name)
    located = {(f.location.line, f.rule_id) for f in found}
    missed = [
        s.kind
        for start, s in where.items()
        if (_expected_line(text, start, s), s.rule_id) not in located
    ]
    assert missed == []
    # Nothing else: one finding per secret (the AWS pair is two secrets, two findings).
    assert len(found) == len(SECRETS)


def test_findings_never_show_the_secret_and_carry_its_digest() -> None:
    text, _ = python_file(SECRETS)
    found = scan_source(text)
    for finding in found:
        assert isinstance(finding, SecretFinding)
        assert len(finding.secret_sha256) == 64
        assert "(" in finding.evidence and "chars)" in finding.evidence
    for secret in SECRETS:
        longest = max(secret.secret.split("\n"), key=len)
        middle = longest[len(longest) // 2 - 4 : len(longest) // 2 + 4]
        assert not any(middle in f.evidence for f in found), secret.kind
    digests = {f.secret_sha256 for f in found}
    hf = next(s for s in SECRETS if s.kind == "hugging-face")
    assert secret_digest(hf.secret.encode()) in digests


def test_evidence_keeps_the_public_prefix_the_ends_and_the_length() -> None:
    token = "hf_" + "RkTbWmQzLpXvNcHsJdGfYaUeKoIwBnMtVq"
    (finding,) = scan_source(f'HF_TOKEN = "{token}"\n')
    assert finding.evidence == "hf_Rk…(34 chars)…Vq"


def _severity(found: list[Finding], rule: str) -> Severity:
    (finding,) = [f for f in found if f.rule_id == rule]
    return finding.severity


def test_severities_follow_what_the_credential_can_do() -> None:
    text, where = python_file(SECRETS)
    starts = sorted(where)
    by_kind = {}
    for f in scan_source(text):
        assert f.location.line is not None
        start = starts[bisect.bisect_right(starts, f.location.line) - 1]
        by_kind[where[start].kind] = f.severity
    for kind in (
        "hugging-face",
        "github-ghp",
        "openai-project",
        "anthropic",
        "databricks",
        "pem-rsa",
        "openssh",
        "gcp-service-account",
        "aws-secret",
        "stripe-live",
        "azure-connection-string",
        "npm",
        "pypi",
    ):
        assert by_kind[kind] == Severity.CRITICAL, kind
    for kind in ("pem-encrypted", "openssh-encrypted", "aws-key-id", "jwt", "wandb-env"):
        assert by_kind[kind] == Severity.HIGH, kind
    for kind in ("generic-password", "generic-token", "generic-api-key", "generic-bearer"):
        assert by_kind[kind] == Severity.MEDIUM, kind


def test_an_access_key_id_followed_by_its_secret_is_critical() -> None:
    rng = random.Random(3)
    key_id = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    secret = "".join(rng.choice(ALNUM + "/+") for _ in range(40))
    csv = f"User name,Access key ID,Secret access key\nbot,{key_id},{secret}\n"
    (finding,) = scan_source(csv, "credentials.csv")
    assert (finding.rule_id, finding.severity) == ("MLW-SEC-001", Severity.CRITICAL)
    assert "followed by its secret" in finding.evidence


def test_stripe_test_keys_are_medium() -> None:
    found = scan_source('STRIPE = "sk_test_' + "a1B2c3D4e5F6g7H8i9J0k1L2m3" + '"\n')
    assert _severity(found, "MLW-SEC-018") == Severity.MEDIUM


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: github_classic(rng, "ghp"),
        lambda rng: github_classic(rng, "gho"),
        lambda rng: github_classic(rng, "ghr", 70),
        github_fine_grained,
    ],
    ids=["ghp", "gho", "ghr", "fine-grained"],
)
def test_github_tokens_with_a_wrong_checksum_are_not_github_tokens(make: object) -> None:
    rng = random.Random(11)
    for _ in range(20):
        token = make(rng)  # type: ignore[operator]
        assert rule_ids(scan_source(f"tok = '{token}'\n")) == ["MLW-SEC-007"]
        broken = wrong_checksum(token)
        assert "MLW-SEC-007" not in rule_ids(scan_source(f"tok = '{broken}'\n"))


def test_npm_and_gitlab_routable_tokens_need_their_checksum() -> None:
    rng = random.Random(5)
    npm = next(s.secret for s in SECRETS if s.kind == "npm")
    assert rule_ids(scan_source(f"tok = '{npm}'\n")) == ["MLW-SEC-022"]
    assert rule_ids(scan_source(f"tok = '{wrong_checksum(npm)}'\n")) == []
    for _ in range(10):
        token = gitlab_routable(rng)
        assert rule_ids(scan_source(f"tok = '{token}'\n")) == ["MLW-SEC-008"]
        assert rule_ids(scan_source(f"tok = '{wrong_checksum(token)}'\n")) == []


def test_a_bad_checksum_under_a_token_name_is_still_a_generic_secret() -> None:
    # The value is not a GitHub token, but it is still a random value assigned to a
    # token name: reported at the generic rule's medium severity, not as GitHub's.
    token = wrong_checksum(github_classic(random.Random(2)))
    found = scan_source(f'GITHUB_TOKEN = "{token}"\n')
    assert [(f.rule_id, f.severity) for f in found] == [("MLW-SEC-030", Severity.MEDIUM)]


PLACEHOLDERS = """
hf_token = "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
HF_TOKEN=hf_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
api_key = "<your-api-key>"
OPENAI_API_KEY=${OPENAI_API_KEY}
token = "{{ secrets.HF_TOKEN }}"
password = os.environ["DB_PASSWORD"]
password = os.getenv("DB_PASSWORD", "")
secret_key = settings.SECRET_KEY
token = userdata.get("HF_TOKEN")
password: changeme
password: "********"
db_password = "password123"
api_key = "your_api_key_here"
client_secret = "REPLACE_WITH_CLIENT_SECRET"
secret = "xxxxxxxxxxxxxxxxxxxx"
token: str = "..."
pad_token = "<pad>"
eos_token = "</s>"
tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
max_tokens = 4096
password_hash = "5f4dcc3b5aa765d61d8327deb882cf99"
DATABASE_URL=postgres://user:password@localhost:5432/app
DATABASE_URL=postgresql://postgres:postgres@localhost/test
REDIS_URL=redis://:${REDIS_PASSWORD}@cache:6379/0
MONGO=mongodb+srv://admin:<password>@cluster0.mongodb.net/db
AMQP=amqp://guest:guest@localhost:5672//
key: |
  -----BEGIN PRIVATE KEY-----
  ...
  -----END PRIVATE KEY-----
sk_live_xxxxxxxxxxxxxxxxxxxxxxxx
Authorization: Bearer <token>
engine = create_engine("postgresql+psycopg2://scott:tiger@localhost/test")
url = "mysql+pymysql://user:pass@some_mariadb/dbname?charset=utf8mb4"
cparams["password"] = "some_password"
"wallet_password": "top secret",
"NextContinuationToken": "1w41l63U0xa8q7smH50vCxyTQqdxo69O3EmK28Bi5PcROI4wI/EyIJg==",
"output_token": "NextMarker || Contents[-1].Key",
next_page_token = "CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA"
headers = {"Authorization": f"Bearer {token}"}
"""


def test_placeholders_and_references_are_not_reported() -> None:
    assert scan_source(PLACEHOLDERS, "README.md") == []


def _lockfiles(rng: random.Random) -> str:
    sha = [hashlib.sha256(rng.randbytes(8)).hexdigest() for _ in range(6)]
    integrity = base64.b64encode(hashlib.sha512(rng.randbytes(8)).digest()).decode()
    return "\n".join(
        [
            "[[package]]",
            'name = "torch"',
            'version = "2.13.0"',
            f'files = [{{file = "torch-2.13.0.whl", hash = "sha256:{sha[0]}"}}]',
            f"numpy==2.1.0 --hash=sha256:{sha[1]} --hash=sha256:{sha[2]}",
            f'"integrity": "sha512-{integrity}",',
            f'"resolved": "https://registry.npmjs.org/x/-/x-1.0.0.tgz#{sha[3][:40]}"',
            f"commit {sha[4][:40]}",
            f"Merge: {sha[5][:7]} {sha[0][:7]}",
            f"run_id = {uuid.UUID(bytes=rng.randbytes(16))}",
            f'"id": "{uuid.UUID(bytes=rng.randbytes(16))}"',
            f"checkpoint_sha256: {sha[2]}",
            f"etag = '\"{sha[3][:32]}\"'",
            f"data = {base64.b64encode(rng.randbytes(3000)).decode()}",
        ]
    )


def test_hashes_uuids_git_shas_and_base64_data_are_not_reported() -> None:
    rng = random.Random(9)
    for _ in range(5):
        assert scan_source(_lockfiles(rng), "poetry.lock") == []


def test_random_hex_and_base64_without_a_secret_name_are_not_reported() -> None:
    rng = random.Random(4)
    lines = []
    for i in range(200):
        lines.append(f"vector_{i} = '{rng.randbytes(20).hex()}'")
        lines.append(f"blob_{i} = b'{base64.b64encode(rng.randbytes(30)).decode()}'")
        lines.append(f"ids_{i} = '{''.join(rng.choice(ALNUM) for _ in range(40))}'")
        lines.append(f"nonce_{i} = '{''.join(rng.choice(HEX) for _ in range(32))}'")
    assert scan_source("\n".join(lines), "test_vectors.py") == []


def test_other_comment_styles_and_languages_are_read() -> None:
    hf = next(s.secret for s in SECRETS if s.kind == "hugging-face")
    samples = {
        "main.tf": f'variable "hf" {{\n  default = "{hf}"\n}}\n',
        "Dockerfile": f"FROM python:3.11\nENV HF_TOKEN={hf}\n",
        "job.sql": f"-- load\nSELECT '{hf}';\n",
        "train.R": f'Sys.setenv(HF_TOKEN = "{hf}")\n',
        "Job.scala": f'val token = "{hf}"\n',
        "notes.md": f"Use `{hf}` for the demo\n",
    }
    for name, text in samples.items():
        assert rule_ids(scan_source(text, name)) == ["MLW-SEC-011"], name


def test_sql_passwords_are_read() -> None:
    found = scan_source("CREATE USER ml IDENTIFIED BY 'Zq8#mK2$vLp9!xR4';\n", "init.sql")
    assert rule_ids(found) == ["MLW-SEC-030"]


def _b64url(obj: object) -> str:
    raw = json.dumps(obj).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _pem_text(label: str, raw: bytes) -> str:
    body = base64.b64encode(raw).decode()
    return f"-----BEGIN {label}-----\n{body[:64]}\n{body[64:128]}\n-----END {label}-----\n"


LOOK_ALIKES = {
    "jwt-without-alg": f"x = '{_b64url({'typ': 'JWT'})}.{_b64url({'sub': '1'})}.c2lnbmF0dXJl'",
    "jwt-not-json": "x = 'eyJub3QganNvbiBhdCBhbGw.eyJhbHNvIG5vdCBqc29u.c2lnbmF0dXJl'",
    "neptune-not-json": "NEPTUNE_API_TOKEN=eyJhcGlfYWRkcmVzcyI6" + "QUJD" * 12,
    "azure-placeholder-key": "AccountKey=" + "A" * 86 + "==",
    "openssh-wrong-magic": _pem_text("OPENSSH PRIVATE KEY", b"not-openssh-key\x00" + b"k" * 90),
    "pem-not-der": _pem_text("RSA PRIVATE KEY", b"\x01\x02" + b"k" * 100),
    "pypi-elsewhere": "pypi-AgEIZXhhbXBsZS5jb20" + "A" * 60,
    "azure-sas-without-version": "https://a.blob.core.windows.net/c?sig="
    + base64.b64encode(b"s" * 32).decode(),
}


@pytest.mark.parametrize("name", sorted(LOOK_ALIKES))
def test_format_checks_reject_look_alikes(name: str) -> None:
    assert scan_source(LOOK_ALIKES[name] + "\n") == []


def test_a_jwt_whose_header_names_an_alg_is_reported() -> None:
    token = f"{_b64url({'alg': 'none', 'typ': 'JWT'})}.{_b64url({'sub': '1'})}."
    assert rule_ids(scan_source(f"x = '{token}'\n")) == ["MLW-SEC-020"]
