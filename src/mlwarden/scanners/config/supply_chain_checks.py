"""What build and setup commands fetch: scripts piped into shells, pip, TLS verification.

These checks read the simple commands of any shell context (scripts, Dockerfile ``RUN``,
container commands) and pip's own configuration files (``pip.conf`` / ``pip.ini``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from mlwarden.findings import Rule, Severity
from mlwarden.scanners.config.addresses import is_plaintext_remote
from mlwarden.scanners.config.collector import CommandSite, FindingCollector
from mlwarden.scanners.config.command_options import parse_bool, parse_options
from mlwarden.scanners.config.secret_names import redact, redact_argv, shorten
from mlwarden.scanners.config.shell_parser import SHELLS, SimpleCommand
from mlwarden.taxonomy import (
    CWE_CERTIFICATE_VALIDATION,
    CWE_CLEARTEXT_TRANSMISSION,
    CWE_DOWNLOAD_WITHOUT_INTEGRITY,
    CWE_UNTRUSTED_SEARCH_PATH,
    OWASP_ML06_SUPPLY_CHAIN,
)

FETCH_AND_RUN = Rule(
    "MLW-CFG-061",
    "Downloaded script run without verification (curl | sh)",
    Severity.HIGH,
    "Download to a file, verify its SHA-256 (or signature) against a pinned value, then run "
    "it; better, install a pinned package.",
    (CWE_DOWNLOAD_WITHOUT_INTEGRITY, OWASP_ML06_SUPPLY_CHAIN),
    "Whoever controls the server, the DNS answer or (over http) the network path decides "
    "what runs, and the build leaves no trace of what it was.",
)
PIP_WITHOUT_HASHES = Rule(
    "MLW-CFG-066",
    "pip installs packages without hash checking",
    Severity.LOW,
    "Install from a requirements file pinned with hashes (`pip-compile --generate-hashes`, "
    "`uv pip compile --generate-hashes`) and `--require-hashes`.",
    (CWE_DOWNLOAD_WITHOUT_INTEGRITY, OWASP_ML06_SUPPLY_CHAIN),
)
PIP_INDEX = Rule(
    "MLW-CFG-067",
    "pip resolves packages from an extra or plaintext index",
    Severity.MEDIUM,
    "Use a single https index (a proxy that mirrors PyPI and hosts your private packages), "
    "never `--extra-index-url`, and reserve your private package names on PyPI.",
    (CWE_UNTRUSTED_SEARCH_PATH, CWE_CLEARTEXT_TRANSMISSION, OWASP_ML06_SUPPLY_CHAIN),
    "With an extra index, pip installs whichever index offers the higher version of a name: "
    "a public package named like a private one wins (dependency confusion).",
)
TLS_VERIFICATION_OFF = Rule(
    "MLW-CFG-068",
    "TLS certificate verification disabled for downloads or API calls",
    Severity.MEDIUM,
    "Remove the option (`-k`, `--insecure`, `--no-check-certificate`, `--trusted-host`, "
    "`*_INSECURE_TLS`); trust a private CA by installing its certificate instead.",
    (CWE_CERTIFICATE_VALIDATION, OWASP_ML06_SUPPLY_CHAIN),
)
RULES = (FETCH_AND_RUN, PIP_WITHOUT_HASHES, PIP_INDEX, TLS_VERIFICATION_OFF)

_FETCHERS = frozenset({"curl", "wget", "fetch", "aria2c", "http", "httpie"})
_INTERPRETERS = SHELLS | frozenset({"python", "python3", "perl", "ruby", "node", "php"})
# `sh -c "$(curl …)"`, `bash <(wget -qO- …)`, `eval "$(curl …)"`, `. <(curl …)`.
_SUBSTITUTION_RUN = re.compile(
    r"(?:\b(?:ba|z|da|k|a|mk)?sh|\bpython[\d.]*|\bperl|\bruby|\bnode|\beval|\bsource"
    r"|(?:^|[;&|(]\s*)\.)\s+(?:-[\w-]+\s+)*[\"']?(?:<\(|\$\(|`)\s*(?:sudo\s+)?"
    r"(?:curl|wget|fetch)\b"
)
_PIP_VALUES = frozenset(
    {"requirement", "constraint", "index-url", "extra-index-url", "trusted-host", "find-links",
     "target", "editable", "prefix", "root", "platform", "python-version", "implementation",
     "abi", "src", "upgrade-strategy", "progress-bar", "cache-dir", "log", "proxy", "retries",
     "timeout", "exists-action", "cert", "client-cert", "no-binary", "only-binary",
     "config-settings", "global-option", "python", "index", "default-index", "group",
     "override", "extra", "report"}
)  # fmt: skip
_PIP_SHORT = {
    "-r": "requirement",
    "-c": "constraint",
    "-i": "index-url",
    "-f": "find-links",
    "-t": "target",
    "-e": "editable",
}
_REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?(?:[<>=!~;@ ].*)?$")
_LOCAL_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tgz", ".tar.bz2")
# curl short options that take a value: in a cluster (`-sSLo file`) the rest is the value.
_CURL_VALUE_SHORTS = frozenset("oOHdeuXAbcCEFKmrTwxyYzQUDP")


def check_line(line: int, text: str, collector: FindingCollector) -> None:
    """Checks that need the raw line: command and process substitutions."""
    match = _SUBSTITUTION_RUN.search(text)
    if match:
        collector.add(
            FETCH_AND_RUN, f"`{shorten(redact(text.strip()))}` runs downloaded code", line=line
        )


def check_command(cmd: SimpleCommand, site: CommandSite) -> None:
    """Supply-chain checks of one simple command."""
    prog = cmd.program
    args = cmd.argv[1:]
    if prog in _INTERPRETERS and any(u in _FETCHERS for u in cmd.upstream):
        positionals = [a for a in args if not a.startswith("-")]
        if not positionals or positionals[0] == "-" or "-s" in args:
            fetcher = next(u for u in cmd.upstream if u in _FETCHERS)
            site.report(FETCH_AND_RUN, f"{fetcher} output piped into `{redact_argv(cmd.argv)}`")
    if prog in ("pip", "pip3") or (prog.startswith("pip3.") and prog[5:].isdigit()):
        if args[:1] == ("install",):
            check_pip_install(cmd.argv, args[1:], site)
    elif prog == "uv" and args[:2] == ("pip", "install"):
        check_pip_install(cmd.argv, args[2:], site)
    elif prog == "curl":
        _check_curl(cmd.argv, args, site)
    elif prog == "wget" and "--no-check-certificate" in args:
        site.report(TLS_VERIFICATION_OFF, f"`{redact_argv(cmd.argv)}`: --no-check-certificate")
    elif prog == "git":
        _check_git(cmd.argv, args, site)
    elif prog in ("npm", "yarn", "pnpm", "conda", "mamba", "micromamba"):
        _check_package_manager_config(cmd.argv, args, site)


def _check_curl(argv: Sequence[str], args: Sequence[str], site: CommandSite) -> None:
    for word in args:
        insecure = word in ("--insecure", "--proxy-insecure")
        if word.startswith("-") and not word.startswith("--"):
            for ch in word[1:]:
                if ch == "k":
                    insecure = True
                    break
                if ch in _CURL_VALUE_SHORTS:
                    break
        if insecure:
            site.report(TLS_VERIFICATION_OFF, f"`{redact_argv(argv)}`: curl {word}")
            return


def _check_git(argv: Sequence[str], args: Sequence[str], site: CommandSite) -> None:
    joined = " ".join(args).lower().replace("=", " ")
    if re.search(r"http\.sslverify\s+(false|0|no|off)\b", joined):
        site.report(TLS_VERIFICATION_OFF, f"`{redact_argv(argv)}`: http.sslVerify false")


def _check_package_manager_config(
    argv: Sequence[str], args: Sequence[str], site: CommandSite
) -> None:
    joined = " ".join(args).lower().replace("=", " ")
    if re.search(r"\b(strict-ssl|ssl_verify)\s+(false|0|no|off)\b", joined):
        site.report(TLS_VERIFICATION_OFF, f"`{redact_argv(argv)}`: TLS verification off")


def _is_named_requirement(word: str) -> bool:
    if word.startswith((".", "/", "~", "file:")) or word.endswith(_LOCAL_SUFFIXES):
        return False
    if "://" in word or word.startswith("git+"):
        return True  # a URL or VCS requirement: no hash either
    return "/" not in word and bool(_REQUIREMENT.match(word))


def check_pip_install(argv: Sequence[str], args: Sequence[str], site: CommandSite) -> None:
    """``pip install`` options: extra/plaintext indexes, trusted hosts, hashes."""
    opts = parse_options(args, takes_value=_PIP_VALUES, short=_PIP_SHORT)
    shown = redact_argv(list(argv))
    for url in opts.all("extra-index-url"):
        site.report(PIP_INDEX, f"`{shown}`: --extra-index-url {redact(url)}")
    for url in opts.all("index-url", "find-links"):
        if is_plaintext_remote(url):
            site.report(PIP_INDEX, f"`{shown}`: plaintext index {redact(url)}")
    for host in opts.all("trusted-host"):
        site.report(TLS_VERIFICATION_OFF, f"`{shown}`: --trusted-host {host}")
    named = [p for p in opts.positionals if _is_named_requirement(p)]
    if named and not opts.has("require-hashes"):
        site.report(PIP_WITHOUT_HASHES, f"`{shown}`: {', '.join(named[:5])} without hashes")


def check_pip_config(
    sections: Mapping[str, Mapping[str, tuple[str, int]]], collector: FindingCollector
) -> None:
    """``pip.conf`` / ``pip.ini``: the same options, as configuration."""
    for section, values in sections.items():
        for key in ("extra-index-url", "extra_index_url"):
            if key in values:
                url, line = values[key]
                collector.add(
                    PIP_INDEX,
                    f"[{section}] {key} = {redact(' '.join(url.split()))}",
                    line=line,
                    field_path=f"{section}.{key}",
                )
        for key in ("index-url", "index_url"):
            if key in values and is_plaintext_remote(values[key][0].strip()):
                collector.add(
                    PIP_INDEX,
                    f"[{section}] {key} = {redact(values[key][0].strip())} (plaintext)",
                    line=values[key][1],
                    field_path=f"{section}.{key}",
                )
        for key in ("trusted-host", "trusted_host"):
            if key in values and values[key][0].strip():
                collector.add(
                    TLS_VERIFICATION_OFF,
                    f"[{section}] {key} = {' '.join(values[key][0].split())}",
                    line=values[key][1],
                    field_path=f"{section}.{key}",
                )
        if "require-hashes" in values and parse_bool(values["require-hashes"][0]) is False:
            collector.add(
                PIP_WITHOUT_HASHES,
                f"[{section}] require-hashes = false",
                line=values["require-hashes"][1],
            )
