"""Which configuration format a file is, from its name and first bytes.

Each ``looks_like_*(name, head)`` takes the file or member name (any path; only the base
name is used) and the first bytes of the content (4 KiB is plenty) and answers quickly
without parsing. :func:`sniff_config_format` tries them in an order that resolves the
overlaps (``jupyter_server_config.json`` before generic JSON, ``mlwarden.toml`` before
INI-looking text) and returns the format name its scanner is registered under.

Text formats have no magic bytes, so names decide where they are conventional
(``Dockerfile``, ``*.yaml``, ``.env``, ``config.properties``); content decides for files
whose names say nothing (a shebang, ``apiVersion:`` + ``kind:``, ``FROM`` as the first
instruction).
"""

from __future__ import annotations

import re
from collections.abc import Callable

DOCKERFILE = "dockerfile"
YAML = "config-yaml"
SHELL = "shell-script"
JUPYTER = "jupyter-config"
PROPERTIES = "java-properties"
INI = "config-ini"
DOTENV = "dotenv"
MLWARDEN_TOML = "mlwarden-toml"

FORMATS: dict[str, str] = {
    DOCKERFILE: "mlwarden.scanners.config.format_scanners:DockerfileScanner",
    YAML: "mlwarden.scanners.config.format_scanners:ConfigYamlScanner",
    SHELL: "mlwarden.scanners.config.format_scanners:ShellScriptScanner",
    JUPYTER: "mlwarden.scanners.config.format_scanners:JupyterConfigScanner",
    PROPERTIES: "mlwarden.scanners.config.format_scanners:JavaPropertiesScanner",
    INI: "mlwarden.scanners.config.format_scanners:ConfigIniScanner",
    DOTENV: "mlwarden.scanners.config.format_scanners:DotenvScanner",
    MLWARDEN_TOML: "mlwarden.scanners.config.format_scanners:MlwardenTomlScanner",
}
"""Format name → ``module:Class`` for :mod:`mlwarden.scanners.registry`."""

_SHEBANG = re.compile(
    rb"^#!\s*(?:/usr)?(?:/local)?/bin/(?:env\s+(?:-\S+\s+)*)?(?:ba|z|da|k|a|mk)?sh\b"
)
_JUPYTER_NAME = re.compile(r"^jupyter(?:_[a-z]+)?_config\.(?:py|json)$")
_K8S_API = re.compile(r"^apiVersion:\s*\S", re.MULTILINE)
_K8S_KIND = re.compile(r"^kind:\s*\S", re.MULTILINE)
_COMPOSE = re.compile(r"^services:\s*$", re.MULTILINE)
# A FROM line has exactly the shape `FROM [--platform=…] image [AS name]`; prose that
# happens to start with "From" does not.
_FROM_SHAPE = r"FROM\s+(?:--platform=\S+\s+)?[\w.${}/:@-]+(?:\s+AS\s+[\w.-]+)?\s*$"
_FIRST_INSTRUCTION = re.compile(rf"^(?:{_FROM_SHAPE}|ARG\s+[A-Za-z_]\w*(?:=\S*)?\s*$)", re.I)
_FROM = re.compile(rf"^\s*{_FROM_SHAPE}", re.IGNORECASE | re.MULTILINE)
_TORCHSERVE_KEY = re.compile(r"^\s*(?:inference|management|metrics)_address\s*[=:]", re.MULTILINE)
_INI_MARKERS = re.compile(
    r"^\s*\[(?:mlflow|global|install|program:[^\]]+|supervisord)\]\s*$", re.MULTILINE
)
_MLWARDEN_KEYS = re.compile(
    r"^\s*(?:dev_loopback|fail_on|allow_globals|deny_globals)\s*=", re.MULTILINE
)
_MLWARDEN_TABLES = re.compile(r"^\s*\[(?:server|scan|scan\.limits)\]\s*$", re.MULTILINE)


def _base(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1].rsplit("!", 1)[-1].lower()


def _text(head: bytes) -> str:
    return head[:65_536].decode("utf-8", "replace").lstrip("\ufeff")


def _first_statement(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped
    return ""


# Each format has a test on the base name and one on the content. Names are tried first
# for every format, so `deploy.yaml` holding `inference_address=` lines (a ConfigMap) stays
# YAML; content decides only for files whose names are not conventional.


def _named_mlwarden_toml(base: str) -> bool:
    return base == "mlwarden.toml"


def _content_mlwarden_toml(base: str, text: str) -> bool:
    return (
        base.endswith(".toml")
        and bool(_MLWARDEN_TABLES.search(text))
        and bool(_MLWARDEN_KEYS.search(text))
    )


def _named_jupyter(base: str) -> bool:
    return bool(_JUPYTER_NAME.match(base))


def _content_jupyter(base: str, text: str) -> bool:
    return base.endswith(".py") and bool(
        re.search(r"^\s*c\.(?:ServerApp|NotebookApp|IdentityProvider)\.\w+\s*=", text, re.M)
    )


def _named_dockerfile(base: str) -> bool:
    return (
        base in ("dockerfile", "containerfile")
        or base.startswith(("dockerfile.", "containerfile."))
        or base.endswith((".dockerfile", ".containerfile"))
    )


def _content_dockerfile(_base: str, text: str) -> bool:
    return bool(_FIRST_INSTRUCTION.match(_first_statement(text))) and bool(_FROM.search(text))


def _named_dotenv(base: str) -> bool:
    return base == ".env" or base.startswith(".env.") or base.endswith(".env")


def _named_properties(base: str) -> bool:
    return base.endswith(".properties")


def _content_properties(_base: str, text: str) -> bool:
    return bool(_TORCHSERVE_KEY.search(text))


def _named_ini(base: str) -> bool:
    return base.endswith((".ini", ".cfg", ".conf"))


def _content_ini(_base: str, text: str) -> bool:
    return bool(_INI_MARKERS.search(text))


def _named_shell(base: str) -> bool:
    return base.endswith((".sh", ".bash", ".zsh", ".ksh"))


def _content_shell(_base: str, text: str) -> bool:
    return bool(_SHEBANG.match(text.encode("utf-8", "replace")))


def _named_yaml(base: str) -> bool:
    return base.endswith((".yaml", ".yml"))


def _content_yaml(_base: str, text: str) -> bool:
    k8s = bool(_K8S_API.search(text)) and bool(_K8S_KIND.search(text))
    return k8s or (bool(_COMPOSE.search(text)) and "image:" in text)


def _never(_base: str, _text: str) -> bool:
    return False


_TESTS: dict[str, tuple[Callable[[str], bool], Callable[[str, str], bool]]] = {
    MLWARDEN_TOML: (_named_mlwarden_toml, _content_mlwarden_toml),
    JUPYTER: (_named_jupyter, _content_jupyter),
    DOCKERFILE: (_named_dockerfile, _content_dockerfile),
    DOTENV: (_named_dotenv, _never),
    PROPERTIES: (_named_properties, _content_properties),
    INI: (_named_ini, _content_ini),
    SHELL: (_named_shell, _content_shell),
    YAML: (_named_yaml, _content_yaml),
}
"""Format → (name test, content test), in the order overlaps are resolved."""


def _looks_like(fmt: str, name: str, head: bytes) -> bool:
    named, content = _TESTS[fmt]
    base = _base(name)
    return named(base) or content(base, _text(head))


def looks_like_mlwarden_toml(name: str, head: bytes) -> bool:
    return _looks_like(MLWARDEN_TOML, name, head)


def looks_like_jupyter_config(name: str, head: bytes) -> bool:
    return _looks_like(JUPYTER, name, head)


def looks_like_dockerfile(name: str, head: bytes) -> bool:
    return _looks_like(DOCKERFILE, name, head)


def looks_like_dotenv(name: str, head: bytes) -> bool:
    return _looks_like(DOTENV, name, head)


def looks_like_java_properties(name: str, head: bytes) -> bool:
    return _looks_like(PROPERTIES, name, head)


def looks_like_ini(name: str, head: bytes) -> bool:
    return _looks_like(INI, name, head)


def looks_like_shell_script(name: str, head: bytes) -> bool:
    return _looks_like(SHELL, name, head)


def looks_like_yaml_config(name: str, head: bytes) -> bool:
    return _looks_like(YAML, name, head)


def sniff_config_format(name: str, head: bytes, *, by_content: bool = True) -> str | None:
    """The configuration format of a file, or ``None`` when it is none of them: every
    format's name test first, then (unless ``by_content`` is off, for files whose name
    already says they are program source) every format's content test."""
    base = _base(name)
    for fmt, (named, _content) in _TESTS.items():
        if named(base):
            return fmt
    if not by_content:
        return None
    text = _text(head)
    for fmt, (_named, content) in _TESTS.items():
        if content(base, text):
            return fmt
    return None
