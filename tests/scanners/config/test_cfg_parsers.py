"""The small parsers under the checks: shell, Dockerfile, key=value formats, options."""

from __future__ import annotations

import shlex

import pytest

from mlwarden.scanners.config.addresses import Reach, bind_reach, host_reach
from mlwarden.scanners.config.command_options import parse_options
from mlwarden.scanners.config.dockerfile_parser import parse_dockerfile
from mlwarden.scanners.config.key_value_files import read_dotenv, read_ini, read_properties
from mlwarden.scanners.config.python_config import NotLiteral, read_traitlets_python
from mlwarden.scanners.config.secret_names import is_literal_secret, redact_argv
from mlwarden.scanners.config.shell_parser import expand, parse_argv, parse_script


def argvs(text: str) -> list[tuple[str, ...]]:
    return [c.argv for c in parse_script(text).commands]


def test_shell_continuations_comments_and_operators() -> None:
    script = parse_script(
        "# setup\nmlflow server \\\n  --host 0.0.0.0 # trailing\nls && echo a#b; cat x | sh\n"
    )
    assert [c.argv for c in script.commands] == [
        ("mlflow", "server", "--host", "0.0.0.0"),
        ("ls",),
        ("echo", "a#b"),
        ("cat", "x"),
        ("sh",),
    ]
    assert [c.line for c in script.commands] == [2, 4, 4, 4, 4]
    assert script.commands[-1].upstream == ("cat",)


def test_shell_heredoc_bodies_and_open_quotes_are_not_commands() -> None:
    text = "cat <<'EOF' > x\nmlflow ui --host 0.0.0.0\nEOF\necho 'one\ntwo'\nray start --head\n"
    assert argvs(text) == [("cat",), ("echo", "one\ntwo"), ("ray", "start", "--head")]
    assert parse_script(text).commands[-1].line == 6


def test_shell_wrappers_are_looked_through() -> None:
    text = (
        "sudo -E -u ml env A=1 nohup python3.11 -u -m jupyterlab --ip 0.0.0.0 &\n"
        "exec tini -- gosu app uv run --with x mlflow server\n"
        "conda run -n base --no-capture-output python -m distributed.cli.dask_scheduler\n"
    )
    cmds = parse_script(text).commands
    assert [c.argv for c in cmds] == [
        ("jupyter", "lab", "--ip", "0.0.0.0"),
        ("mlflow", "server"),
        ("dask-scheduler",),
    ]
    assert cmds[0].env["A"] == "1"


def test_shell_dash_c_scripts_are_parsed_and_nesting_is_bounded() -> None:
    assert argvs("bash -lc 'ray start --head; echo done'") == [
        ("ray", "start", "--head"),
        ("echo", "done"),
    ]
    nested = "echo x"
    for _ in range(10):
        nested = f"sh -c {shlex.quote(nested)}"
    script = parse_script(nested)
    assert script.truncated and script.commands == []


def test_shell_variables_expand_from_assignments_and_defaults() -> None:
    text = 'H=0.0.0.0\nexport P="${PORT:-5000}"\nmlflow server --host "$H" --port ${P} --x $UNSET\n'
    script = parse_script(text)
    assert script.commands[0].argv[3:] == ("0.0.0.0", "--port", "5000", "--x", "$UNSET")
    assert [(a.name, a.value, a.line) for a in script.assignments] == [
        ("H", "0.0.0.0", 1),
        ("P", "5000", 2),
    ]
    assert expand("${A:-d}", {"A": ""}) == "d" and expand("${A-d}", {"A": ""}) == ""


def test_exec_form_is_not_expanded_but_sh_dash_c_is() -> None:
    env = {"HOST": "0.0.0.0"}
    assert parse_argv(["mlflow", "ui", "$HOST"], line=1, env=env).commands[0].argv[2] == "$HOST"
    inner = parse_argv(["sh", "-c", "mlflow ui --host $HOST"], line=4, env=env).commands[0]
    assert inner.argv[-1] == "0.0.0.0" and inner.line == 4


def test_dockerfile_parser_handles_the_builders_syntax() -> None:
    text = (
        "# escape=`\n"
        "FROM python:3.11 AS base\n"
        "RUN apt-get update && `\n"
        "# a comment inside the continuation\n"
        "\n"
        "    apt-get install -y curl\n"
        'CMD ["jupyter", "lab"]\n'
        "RUN --mount=type=secret,id=tok <<EOF\n"
        "echo from heredoc\n"
        "EOF\n"
        "ADD --checksum=sha256:abc https://x/y /y\n"
    )
    ins = parse_dockerfile(text)
    assert [i.keyword for i in ins] == ["FROM", "RUN", "CMD", "RUN", "ADD"]
    assert ins[1].arguments == "apt-get update && apt-get install -y curl"
    assert [i.line for i in ins] == [2, 3, 7, 8, 11]
    assert ins[2].exec_form == ("jupyter", "lab")
    assert ins[3].flags == {"mount": "type=secret,id=tok"}
    assert ins[3].heredocs == ((9, "echo from heredoc"),)
    assert ins[4].flags == {"checksum": "sha256:abc"}


def test_properties_reader() -> None:
    text = "# c\n! c\nkey1 = a\\\n    b\nkey2:v2\nkey3 v3\nkey1=last\n"
    assert read_properties(text) == {"key1": ("last", 7), "key2": ("v2", 5), "key3": ("v3", 6)}


def test_dotenv_reader() -> None:
    text = "# c\nexport A=1\nB='two words' \nC=\"multi\nline\"\nD=x # comment\n"
    assert read_dotenv(text) == [
        ("A", "1", 2),
        ("B", "two words", 3),
        ("C", "multi\nline", 4),
        ("D", "x", 6),
    ]


def test_ini_reader() -> None:
    text = "[global]\nIndex-URL = https://a\nextra-index-url =\n    https://b\n    https://c\n; c\n"
    sections = read_ini(text)
    assert sections["global"]["index-url"] == ("https://a", 2)
    assert sections["global"]["extra-index-url"] == ("https://b\nhttps://c", 3)


def test_traitlets_python_is_read_not_run(tmp_path: object) -> None:
    text = (
        "import os\nos.system('touch /tmp/never')\ncfg = get_config()\n"
        "cfg.ServerApp.token = ''\nc.ServerApp.ip = os.environ['IP']\nc.ServerApp.token = 'x'\n"
    )
    settings = read_traitlets_python(text)
    assert settings["ServerApp.token"] == ("x", 6)  # the last assignment wins
    assert isinstance(settings["ServerApp.ip"][0], NotLiteral)


def test_option_parsing() -> None:
    opts = parse_options(
        ["-h0.0.0.0", "--port", "1", "--flag", "--x=", "pos", "--", "--not-an-option"],
        takes_value=frozenset({"host", "port"}),
        short={"-h": "host"},
    )
    assert opts.last("host") == "0.0.0.0" and opts.last("port") == "1" and opts.last("x") == ""
    assert opts.flags == {"flag"} and opts.positionals == ("pos", "--not-an-option")


@pytest.mark.parametrize(
    ("address", "reach"),
    [
        ("0.0.0.0", Reach.NETWORK),
        ("[::]:8080", Reach.NETWORK),
        (":8787", Reach.NETWORK),
        ("10.1.2.3", Reach.NETWORK),
        ("mlflow.internal:5000", Reach.NETWORK),
        ("127.0.0.1:8081", Reach.LOOPBACK),
        ("[::1]:80", Reach.LOOPBACK),
        ("localhost", Reach.LOOPBACK),
        ("http://0.0.0.0:8081", Reach.NETWORK),
        ("https://127.0.0.1:8443", Reach.LOOPBACK),
        ("unix:/tmp/management.sock", Reach.LOOPBACK),
        ("$HOST", Reach.UNKNOWN),
        ("{{ .Values.host }}", Reach.UNKNOWN),
    ],
)
def test_address_reach(address: str, reach: Reach) -> None:
    assert bind_reach(address) is reach


def test_host_reach_of_ipv6_without_brackets() -> None:
    assert host_reach("::1") is Reach.LOOPBACK and host_reach("::") is Reach.NETWORK


def test_secrets_are_recognised_and_redacted() -> None:
    assert is_literal_secret("HF_TOKEN", "hf_abc")
    assert not is_literal_secret("HF_TOKEN", "${HF_TOKEN}")
    assert not is_literal_secret("PASSWORD_FILE", "/run/secrets/p")
    assert not is_literal_secret("TOKENIZERS_PARALLELISM", "false")
    shown = redact_argv(["app", "--password", "hunter2", "--api-key=s3cr3t", "https://u:pw@h/x"])
    assert "hunter2" not in shown and "s3cr3t" not in shown and "pw@" not in shown
