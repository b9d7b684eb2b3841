"""Real-format fake credentials for every secrets detector, and files that embed them.

Every token has a random body and, where its format has one, a correct checksum computed
here independently of the scanner (so a wrong checksum implementation in the scanner
fails the tests). None of them is, or was ever, issued by anyone.

Also used by ``benchmarks/secrets_bench.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import urllib.parse
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass

ALNUM = string.ascii_letters + string.digits
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
B36 = string.digits + string.ascii_lowercase
HEX = "0123456789abcdef"
B64URL = ALNUM + "-_"


@dataclass(frozen=True)
class FakeSecret:
    """One fake credential and how it is written in each kind of file."""

    rule_id: str
    kind: str
    """Which format variant (``github-ghp``, ``aws-secret`` ...), for messages."""
    secret: str
    py: str
    """Line(s) of Python that hold it; the secret starts on the first line."""
    env: str
    yaml: str
    written: str = ""
    """The secret as it appears in the files, when it differs (URL-encoded passwords)."""

    @property
    def probe(self) -> str:
        """A piece of the secret's first line as written, to find its line in a file."""
        return (self.written or self.secret).split("\n")[0][:24]


def _pick(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _in_base(value: int, alphabet: str, width: int) -> str:
    digits = ""
    while value:
        value, d = divmod(value, len(alphabet))
        digits = alphabet[d] + digits
    return digits.rjust(width, alphabet[0])


def _simple(rule: str, kind: str, secret: str, var: str) -> FakeSecret:
    return FakeSecret(
        rule,
        kind,
        secret,
        f'{var.lower()} = "{secret}"',
        f"{var}={secret}",
        f"{var.lower()}: {secret}",
    )


def github_classic(rng: random.Random, prefix: str = "ghp", body_len: int = 30) -> str:
    body = _pick(rng, ALNUM, body_len)
    return f"{prefix}_{body}{_in_base(zlib.crc32(body.encode()), B62, 6)}"


def github_fine_grained(rng: random.Random) -> str:
    body = "github_pat_" + rng.choice(string.digits) + _pick(rng, ALNUM, 21) + "_"
    body += _pick(rng, ALNUM, 43)
    check = base64.b32encode(hashlib.sha256(body.encode()).digest())[:8].decode()
    return body + check + _pick(rng, ALNUM, 8)


def gitlab_routable(rng: random.Random) -> str:
    payload = _pick(rng, B64URL, 27 + rng.randrange(20))
    version, length = "01", _in_base(len(payload), B36, 2)
    crc = _in_base(zlib.crc32(f"glpat-{payload}.{version}.{length}".encode()), B36, 7)
    return f"glpat-{payload}.{version}.{length}{crc}"


def der_body(rng: random.Random, size: int = 600) -> bytes:
    # A DER SEQUENCE header followed by random content: the shape of PKCS#1/#8 keys.
    return b"\x30\x82" + size.to_bytes(2, "big") + rng.randbytes(size)


def pem(label: str, raw: bytes) -> list[str]:
    text = base64.b64encode(raw).decode()
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return [f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]


def openssh_key(rng: random.Random, cipher: str = "none") -> bytes:
    name = cipher.encode()
    return b"openssh-key-v1\x00" + len(name).to_bytes(4, "big") + name + rng.randbytes(400)


def _multiline(rule: str, kind: str, lines: list[str], var: str) -> FakeSecret:
    joined = "\n".join(lines)
    escaped = "\\n".join(lines)
    indented = "\n".join("  " + line for line in lines)
    return FakeSecret(
        rule,
        kind,
        joined,
        f'{var} = """{joined}"""',
        f'{var.upper()}="{escaped}"',
        f"{var}: |\n{indented}",
    )


def _jwt(rng: random.Random) -> str:
    def part(obj: object) -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = part({"alg": "HS256", "typ": "JWT"})
    payload = part(
        {"sub": _pick(rng, ALNUM, 12), "iat": rng.randrange(1_600_000_000, 1_800_000_000)}
    )
    signature = base64.urlsafe_b64encode(rng.randbytes(32)).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


def _neptune(rng: random.Random) -> str:
    key = {
        "api_address": "https://app.neptune.ai",
        "api_url": "https://app.neptune.ai",
        "api_key": f"{_pick(rng, HEX, 8)}-{_pick(rng, HEX, 4)}-{_pick(rng, HEX, 4)}-"
        f"{_pick(rng, HEX, 4)}-{_pick(rng, HEX, 12)}",
    }
    return base64.b64encode(json.dumps(key).encode()).decode()


def _password(rng: random.Random, n: int = 20) -> str:
    return _pick(rng, ALNUM + "!%^*-_+", n)


def fake_secrets(seed: int = 7) -> list[FakeSecret]:
    """One of every detector's formats (several for formats with variants)."""
    rng = random.Random(seed)
    out: list[FakeSecret] = []
    add = out.append

    key_id = "AKIA" + _pick(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
    aws_secret = _pick(rng, ALNUM + "/+", 40)
    add(_simple("MLW-SEC-001", "aws-key-id", key_id, "AWS_ACCESS_KEY_ID"))
    add(
        _simple(
            "MLW-SEC-001",
            "aws-temporary-key-id",
            "ASIA" + _pick(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
            "AWS_ACCESS_KEY_ID",
        )
    )
    add(_simple("MLW-SEC-002", "aws-secret", aws_secret, "AWS_SECRET_ACCESS_KEY"))

    sa_key = "\\n".join(pem("PRIVATE KEY", der_body(rng, 1200))) + "\\n"
    sa = json.dumps(
        {
            "type": "service_account",
            "project_id": "demo-project",
            "private_key_id": _pick(rng, HEX, 40),
            "private_key": "__KEY__",
            "client_email": "trainer@demo-project.iam.gserviceaccount.com",
        }
    ).replace("__KEY__", sa_key)
    add(
        FakeSecret(
            "MLW-SEC-003",
            "gcp-service-account",
            sa,
            f"SA = '{sa}'",
            f"GOOGLE_CREDENTIALS='{sa}'",
            f"credentials: '{sa}'",
        )
    )
    add(_simple("MLW-SEC-004", "google-api-key", "AIza" + _pick(rng, B64URL, 35), "GOOGLE_API_KEY"))

    account_key = base64.b64encode(rng.randbytes(64)).decode()
    conn = (
        "DefaultEndpointsProtocol=https;AccountName=demostore;"
        f"AccountKey={account_key};EndpointSuffix=core.windows.net"
    )
    add(
        FakeSecret(
            "MLW-SEC-005",
            "azure-connection-string",
            account_key,
            f'CONN = "{conn}"',
            f'AZURE_STORAGE_CONNECTION_STRING="{conn}"',
            f'connection_string: "{conn}"',
        )
    )
    sig = urllib.parse.quote(base64.b64encode(rng.randbytes(32)).decode(), safe="")
    sas = (
        "https://demostore.blob.core.windows.net/models/m.pt?sv=2022-11-02&ss=b&srt=o&sp=r"
        f"&se=2030-01-01T00:00:00Z&sig={sig}"
    )
    add(
        FakeSecret(
            "MLW-SEC-005",
            "azure-sas",
            sig,
            f'URL = "{sas}"',
            f"MODEL_URL={sas}",
            f"model_url: {sas}",
        )
    )
    entra = _pick(rng, ALNUM, 3) + rng.choice(string.digits) + "Q~" + _pick(rng, ALNUM + "_~.-", 34)
    add(_simple("MLW-SEC-006", "entra-client-secret", entra, "AZURE_APP_PASSWORD_VALUE"))
    add(
        _simple(
            "MLW-SEC-006",
            "google-oauth-client-secret",
            "GOCSPX-" + _pick(rng, B64URL, 28),
            "OAUTH_CONFIG_VALUE",
        )
    )
    add(_simple("MLW-SEC-006", "client-secret-context", _pick(rng, ALNUM, 32), "CLIENT_SECRET"))

    for prefix, body_len in (("ghp", 30), ("gho", 30), ("ghu", 30), ("ghs", 30), ("ghr", 70)):
        add(
            _simple(
                "MLW-SEC-007",
                f"github-{prefix}",
                github_classic(rng, prefix, body_len),
                "GITHUB_TOKEN",
            )
        )
    add(_simple("MLW-SEC-007", "github-fine-grained", github_fine_grained(rng), "GH_PAT"))
    add(_simple("MLW-SEC-008", "gitlab-legacy", "glpat-" + _pick(rng, B64URL, 20), "GITLAB_TOKEN"))
    add(_simple("MLW-SEC-008", "gitlab-routable", gitlab_routable(rng), "GITLAB_TOKEN"))

    add(
        _simple(
            "MLW-SEC-009",
            "openai-project",
            "sk-proj-" + _pick(rng, B64URL, 74) + "T3BlbkFJ" + _pick(rng, B64URL, 74),
            "OPENAI_API_KEY",
        )
    )
    add(
        _simple(
            "MLW-SEC-009",
            "openai-legacy",
            "sk-" + _pick(rng, ALNUM, 20) + "T3BlbkFJ" + _pick(rng, ALNUM, 20),
            "OPENAI_API_KEY",
        )
    )
    add(
        _simple(
            "MLW-SEC-010",
            "anthropic",
            "sk-ant-api03-" + _pick(rng, B64URL, 93) + "AA",
            "ANTHROPIC_API_KEY",
        )
    )
    add(
        _simple(
            "MLW-SEC-011", "hugging-face", "hf_" + _pick(rng, string.ascii_letters, 34), "HF_TOKEN"
        )
    )
    add(
        _simple(
            "MLW-SEC-011",
            "hugging-face-org",
            "api_org_" + _pick(rng, string.ascii_letters, 34),
            "HUGGINGFACE_ORG_TOKEN",
        )
    )

    wandb = _pick(rng, HEX, 40)
    add(_simple("MLW-SEC-012", "wandb-env", wandb, "WANDB_API_KEY"))
    wandb2 = _pick(rng, HEX, 40)
    add(
        FakeSecret(
            "MLW-SEC-012",
            "wandb-login",
            wandb2,
            f'wandb.login(key="{wandb2}")',
            f"WANDB_LOGIN_CMD='wandb.login(key=\"{wandb2}\")'",
            f"setup: 'wandb.login(key=\"{wandb2}\")'",
        )
    )
    wandb3 = _pick(rng, HEX, 40)
    netrc = f"machine api.wandb.ai\n  login user\n  password {wandb3}"
    add(
        FakeSecret(
            "MLW-SEC-012",
            "wandb-netrc",
            wandb3,
            f'NETRC = """{netrc}"""',
            f"# machine api.wandb.ai login user password {wandb3}",
            f"netrc: |\n  machine api.wandb.ai login user password {wandb3}",
        )
    )
    add(_simple("MLW-SEC-013", "databricks", "dapi" + _pick(rng, HEX, 32), "DATABRICKS_TOKEN"))

    kaggle = _pick(rng, HEX, 32)
    kjson = json.dumps({"username": "demo", "key": kaggle})
    add(
        FakeSecret(
            "MLW-SEC-014",
            "kaggle-json",
            kaggle,
            f"KAGGLE = '{kjson}'",
            f"KAGGLE_JSON='{kjson}'",
            f"kaggle: '{kjson}'",
        )
    )
    add(_simple("MLW-SEC-014", "kaggle-env", _pick(rng, HEX, 32), "KAGGLE_KEY"))
    add(_simple("MLW-SEC-015", "comet", _pick(rng, ALNUM, 25), "COMET_API_KEY"))
    add(_simple("MLW-SEC-016", "neptune", _neptune(rng), "NEPTUNE_API_TOKEN"))
    add(_simple("MLW-SEC-016", "neptune-no-context", _neptune(rng), "RUN_SETTING"))

    add(
        _simple(
            "MLW-SEC-017",
            "slack-bot",
            f"xoxb-{_pick(rng, string.digits, 11)}-{_pick(rng, string.digits, 13)}-"
            f"{_pick(rng, ALNUM, 24)}",
            "SLACK_BOT",
        )
    )
    add(
        _simple(
            "MLW-SEC-017",
            "slack-user",
            f"xoxp-{_pick(rng, string.digits, 11)}-{_pick(rng, string.digits, 12)}-"
            f"{_pick(rng, string.digits, 13)}-{_pick(rng, HEX, 32)}",
            "SLACK_USER",
        )
    )
    upper = string.ascii_uppercase + string.digits
    hook = (
        f"https://hooks.slack.com/services/T{_pick(rng, upper, 10)}"
        f"/B{_pick(rng, upper, 10)}/{_pick(rng, ALNUM, 24)}"
    )
    add(_simple("MLW-SEC-017", "slack-webhook", hook, "ALERT_HOOK"))
    add(_simple("MLW-SEC-018", "stripe-live", "sk_live_" + _pick(rng, ALNUM, 99), "STRIPE_KEY"))
    add(
        _simple(
            "MLW-SEC-018", "stripe-restricted", "rk_live_" + _pick(rng, ALNUM, 24), "STRIPE_KEY"
        )
    )

    add(_multiline("MLW-SEC-019", "pem-pkcs8", pem("PRIVATE KEY", der_body(rng)), "key"))
    add(_multiline("MLW-SEC-019", "pem-rsa", pem("RSA PRIVATE KEY", der_body(rng)), "key"))
    add(_multiline("MLW-SEC-019", "pem-ec", pem("EC PRIVATE KEY", der_body(rng, 100)), "key"))
    add(
        _multiline(
            "MLW-SEC-019", "pem-encrypted", pem("ENCRYPTED PRIVATE KEY", der_body(rng)), "key"
        )
    )
    add(_multiline("MLW-SEC-019", "openssh", pem("OPENSSH PRIVATE KEY", openssh_key(rng)), "key"))
    add(
        _multiline(
            "MLW-SEC-019",
            "openssh-encrypted",
            pem("OPENSSH PRIVATE KEY", openssh_key(rng, "aes256-ctr")),
            "key",
        )
    )
    pgp = pem("PGP PRIVATE KEY BLOCK", b"\x95\x03\x86\x04" + rng.randbytes(900))
    add(_multiline("MLW-SEC-019", "pgp", [pgp[0], "", *pgp[1:]], "key"))
    putty = [
        "PuTTY-User-Key-File-3: ssh-ed25519",
        "Encryption: none",
        "Comment: demo",
        "Public-Lines: 2",
        *[_pick(rng, ALNUM, 64) for _ in range(2)],
        "Private-Lines: 1",
        _pick(rng, ALNUM, 44),
    ]
    add(_multiline("MLW-SEC-019", "putty", putty, "key"))

    add(_simple("MLW-SEC-020", "jwt", _jwt(rng), "SESSION_JWT"))
    for scheme, user, host in (
        ("postgresql", "trainer", "db.internal.example"),
        ("postgresql+psycopg2", "app", "10.2.3.4"),
        ("mysql", "root_user", "mysql.example.net"),
        ("mongodb+srv", "ml", "cluster0.abcde.mongodb.net"),
        ("redis", "", "cache.example.net"),
        ("amqp", "worker", "queue.example.net"),
    ):
        password = _password(rng)
        quoted = urllib.parse.quote(password, safe="")
        url = f"{scheme}://{user}:{quoted}@{host}:5432/x"
        add(
            FakeSecret(
                "MLW-SEC-021",
                f"db-{scheme}",
                password,
                f'DB = "{url}"',
                f"DATABASE_URL={url}",
                f"database_url: {url}",
                quoted,
            )
        )

    npm_body = _pick(rng, ALNUM, 30)
    npm = f"npm_{npm_body}{_in_base(zlib.crc32(npm_body.encode()), B62, 6)}"
    add(_simple("MLW-SEC-022", "npm", npm, "NPM_TOKEN"))
    macaroon = b"\x02\x01\x08pypi.org\x02" + rng.randbytes(120)
    pypi = "pypi-" + base64.urlsafe_b64encode(macaroon).rstrip(b"=").decode()
    add(_simple("MLW-SEC-023", "pypi", pypi, "TWINE_PASSWORD_VALUE"))

    add(_simple("MLW-SEC-030", "generic-password", _password(rng, 18), "DB_PASSWORD"))
    add(_simple("MLW-SEC-030", "generic-token", _pick(rng, ALNUM, 40), "SERVICE_TOKEN"))
    add(_simple("MLW-SEC-030", "generic-api-key", _pick(rng, HEX, 48), "INTERNAL_API_KEY"))
    bearer = _pick(rng, ALNUM + "-._~", 48)
    add(
        FakeSecret(
            "MLW-SEC-030",
            "generic-bearer",
            bearer,
            f'headers = {{"Authorization": "Bearer {bearer}"}}',
            f'CURL_HEADER="Authorization: Bearer {bearer}"',
            f"authorization: Bearer {bearer}",
        )
    )
    return out


def wrong_checksum(token: str) -> str:
    """``token`` with one checksum character changed (the last character, or for
    fine-grained GitHub tokens the first of their eight checksum characters)."""
    at = 77 if token.startswith("github_pat_") else len(token) - 1
    replacement = "A" if token[at] != "A" else "B"
    return token[:at] + replacement + token[at + 1 :]


# --- files that embed secrets -------------------------------------------------------------

Embed = Callable[[list[FakeSecret]], tuple[str, dict[int, FakeSecret]]]


def python_file(secrets: list[FakeSecret]) -> tuple[str, dict[int, FakeSecret]]:
    """A Python module with each secret; returns its text and {line: secret}."""
    lines = ['"""Training configuration."""', "import os", ""]
    where: dict[int, FakeSecret] = {}
    for i, s in enumerate(secrets):
        lines.append(f"# setting {i}")
        where[len(lines) + 1] = s
        lines.extend(s.py.split("\n"))
        lines.append("")
    return "\n".join(lines) + "\n", where


def env_file(secrets: list[FakeSecret]) -> tuple[str, dict[int, FakeSecret]]:
    lines = ["# environment for the training job", "PYTHONUNBUFFERED=1"]
    where: dict[int, FakeSecret] = {}
    for s in secrets:
        where[len(lines) + 1] = s
        lines.extend(s.env.split("\n"))
    return "\n".join(lines) + "\n", where


def yaml_file(secrets: list[FakeSecret]) -> tuple[str, dict[int, FakeSecret]]:
    lines = ["# pipeline config", "pipeline:", "  name: train"]
    where: dict[int, FakeSecret] = {}
    for i, s in enumerate(secrets):
        lines.append(f"step_{i}:")
        block = ["  " + line for line in s.yaml.split("\n")]
        where[len(lines) + 1] = s
        lines.extend(block)
    return "\n".join(lines) + "\n", where


def _source_lines(text: str) -> list[str]:
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def notebook(cells: list[dict[str, object]], nbformat: int = 4) -> bytes:
    """A notebook document (written directly: nbformat may not be installed)."""
    doc = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.11.7"},
        },
        "nbformat": nbformat,
        "nbformat_minor": 5,
    }
    return json.dumps(doc, indent=1).encode()


def code_cell(
    source: str, outputs: list[dict[str, object]] | None = None, n: int = 1, cell_id: str = ""
) -> dict[str, object]:
    return {
        "cell_type": "code",
        "execution_count": n,
        "id": cell_id or hashlib.sha1(source.encode()).hexdigest()[:8],
        "metadata": {"execution": {"iopub.execute_input": "2026-01-01T00:00:00.000Z"}},
        "outputs": outputs or [],
        "source": _source_lines(source),
    }


def stream(text: str) -> dict[str, object]:
    return {"name": "stdout", "output_type": "stream", "text": _source_lines(text)}


def result(text: str, n: int = 1, extra: dict[str, object] | None = None) -> dict[str, object]:
    data: dict[str, object] = {"text/plain": _source_lines(text)}
    data.update(extra or {})
    return {"data": data, "execution_count": n, "metadata": {}, "output_type": "execute_result"}


def error(line: str) -> dict[str, object]:
    return {
        "ename": "ConnectionError",
        "evalue": "could not connect",
        "output_type": "error",
        "traceback": [
            "\x1b[0;31m---------------------------------------------------------------\x1b[0m",
            "\x1b[0;31mConnectionError\x1b[0m  Traceback (most recent call last)",
            f"Cell \x1b[0;32mIn[3], line 2\x1b[0m\n      1 import db\n----> 2 {line}\n",
            "\x1b[0;31mConnectionError\x1b[0m: could not connect",
        ],
    }


def png_output(rng: random.Random, size: int = 20_000) -> dict[str, object]:
    """A display_data output shaped like a matplotlib figure (a real PNG header)."""
    raw = b"\x89PNG\r\n\x1a\n" + rng.randbytes(size)
    return {
        "data": {
            "image/png": base64.b64encode(raw).decode(),
            "text/plain": ["<Figure size 640x480 with 1 Axes>"],
        },
        "metadata": {"needs_background": "light"},
        "output_type": "display_data",
    }


def realistic_notebook(rng: random.Random, extra_cells: int = 0) -> bytes:
    """A training notebook with figures, tables, ids, hashes and random test vectors."""
    table = (
        "<table><tr><th>id</th><th>sha</th></tr>"
        + "".join(
            f"<tr><td>{uuid.UUID(bytes=rng.randbytes(16))}</td>"
            f"<td>{hashlib.sha256(rng.randbytes(4)).hexdigest()}</td></tr>"
            for _ in range(20)
        )
        + "</table>"
    )
    vectors = "\n".join(
        f"{i}: {rng.randbytes(32).hex()} {base64.b64encode(rng.randbytes(24)).decode()}"
        for i in range(30)
    )
    cells = [
        code_cell("import torch\nimport pandas as pd\nimport matplotlib.pyplot as plt", n=1),
        code_cell(
            "df = pd.read_parquet('runs.parquet')\ndf.head(20)",
            [result(_df_text(rng), 2, {"text/html": [table]})],
            2,
        ),
        code_cell("plt.plot(losses)\nplt.show()", [png_output(rng)], 3),
        code_cell(
            "for i in range(30):\n    print(i, os.urandom(32).hex(), b64(os.urandom(24)))",
            [stream(vectors)],
            4,
        ),
        code_cell(
            "git_rev = !git rev-parse HEAD\nprint(git_rev, model_sha256, run.id)",
            [
                stream(
                    f"{rng.randbytes(20).hex()} {rng.randbytes(32).hex()} "
                    f"{uuid.UUID(bytes=rng.randbytes(16))}\n"
                )
            ],
            5,
        ),
        code_cell(
            "tokenizer('hello world')",
            [
                result(
                    "{'input_ids': [101, 7592, 2088, 102], "
                    "'token_type_ids': [0, 0, 0, 0], 'attention_mask': [1, 1, 1, 1]}",
                    6,
                )
            ],
            6,
        ),
        code_cell("1/0", [error("1/0")], 7),
    ]
    for i in range(extra_cells):
        cells.append(code_cell(f"plt.imshow(batch[{i}])", [png_output(rng, 5000)], 8 + i))
    doc = json.loads(notebook(cells))
    widget_state = {
        "state": {
            uuid.uuid4().hex: {
                "model_name": "FloatProgressModel",
                "state": {
                    "value": 1.0,
                    "_model_id": rng.randbytes(16).hex(),
                    "layout": f"IPY_MODEL_{rng.randbytes(16).hex()}",
                },
            }
            for _ in range(10)
        }
    }
    doc["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": widget_state}
    doc["metadata"]["papermill"] = {
        "input_path": "train.ipynb",
        "run_id": str(uuid.uuid4()),
        "environment_hash": rng.randbytes(32).hex(),
    }
    return json.dumps(doc).encode()


def _df_text(rng: random.Random) -> str:
    rows = [
        f"{i}  {uuid.UUID(bytes=rng.randbytes(16))}  {rng.randbytes(20).hex()}  0.{i}"
        for i in range(20)
    ]
    return "   run_id  commit  loss\n" + "\n".join(rows)
