"""The :class:`~mlwarden.scanners.base.Scanner` of each configuration format.

Each scanner decodes the blob (bounded, see :mod:`text_input`), parses it with its
format's reader and hands the result to the checks. Limits and malformed input inside a
file become findings here, so whatever was found before the problem is still reported and
the file's status becomes *partial*.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import replace

from mlwarden.findings import Finding, Location, Rule, Severity
from mlwarden.scanners.base import (
    MALFORMED_RULE,
    TEXT_MALFORMED_SEVERITY,
    Blob,
    LimitExceeded,
    MalformedInput,
    ScanContext,
)
from mlwarden.scanners.config import (
    env_settings,
    jupyter_checks,
    launch_commands,
    mlflow_checks,
    mlwarden_toml_checks,
    supply_chain_checks,
    torchserve_checks,
)
from mlwarden.scanners.config import sniffing as formats
from mlwarden.scanners.config.catalog import RULES
from mlwarden.scanners.config.collector import CommandSite, FindingCollector
from mlwarden.scanners.config.dockerfile_checks import check_dockerfile
from mlwarden.scanners.config.dockerfile_parser import parse_dockerfile
from mlwarden.scanners.config.key_value_files import read_dotenv, read_ini, read_properties
from mlwarden.scanners.config.python_config import read_traitlets_python
from mlwarden.scanners.config.shell_parser import parse_script
from mlwarden.scanners.config.text_input import decode_config
from mlwarden.scanners.config.yaml_checks import EmbeddedFile, check_yaml_stream, embedded_files
from mlwarden.scanners.config.yaml_documents import read_yaml_stream

_JSON_DEPTH_ERRORS = (RecursionError, MemoryError)
_PIP_SECTIONS = frozenset({"global", "install", "download", "wheel"})


class _TextConfigScanner:
    """Shared body: decode, check, turn limits and malformed input into findings."""

    format_name = ""

    @property
    def name(self) -> str:
        return self.format_name

    @property
    def rules(self) -> tuple[Rule, ...]:
        return RULES

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterable[Finding]:
        base = Location(blob.location.path, blob.location.member)
        collector = FindingCollector(base, ctx.budget)
        try:
            text = decode_config(blob, ctx)
            self.check(text, collector)
        except LimitExceeded as exc:
            collector.limit(exc.what, f"{exc.what} exceeded (limit {exc.limit}); {exc.fix}")
        except MalformedInput as exc:
            collector.incomplete.append(f"malformed {self.format_name}")
            collector.findings.append(
                MALFORMED_RULE.finding(
                    base, f"{self.format_name}: {exc}", severity=TEXT_MALFORMED_SEVERITY
                )
            )
        ctx.incomplete.extend(f"{blob.location}: {what}" for what in collector.incomplete)
        return collector.findings

    def check(self, text: str, collector: FindingCollector) -> None:
        raise NotImplementedError


class DockerfileScanner(_TextConfigScanner):
    """Dockerfiles and Containerfiles."""

    format_name = formats.DOCKERFILE

    def check(self, text: str, collector: FindingCollector) -> None:
        check_dockerfile(parse_dockerfile(text), collector)


class ConfigYamlScanner(_TextConfigScanner):
    """Kubernetes manifests (multi-document), Compose files, Dask configuration."""

    format_name = formats.YAML

    def __init__(self, depth: int = 0) -> None:
        self.depth = depth

    def check(self, text: str, collector: FindingCollector) -> None:
        stream = read_yaml_stream(text, collector.tick)
        check_yaml_stream(stream, collector)
        for embedded in embedded_files(stream):
            self.check_embedded(embedded, collector)
        for problem in stream.problems:
            if problem.kind == "limit":
                collector.limit("YAML bounds", problem.message, line=problem.line)
            else:
                collector.incomplete.append("malformed YAML")
                # A python/ tag runs code under yaml.unsafe_load: keep the full severity.
                python_tag = "python/" in problem.message
                collector.findings.append(
                    MALFORMED_RULE.finding(
                        collector.at(problem.line),
                        problem.message,
                        severity=None if python_tag else TEXT_MALFORMED_SEVERITY,
                    )
                )

    def check_embedded(self, embedded: EmbeddedFile, collector: FindingCollector) -> None:
        """Check a file mounted from a ConfigMap/Secret with its own format's checks;
        findings point at the manifest (key line + line inside the file)."""
        fmt = formats.sniff_config_format(embedded.name, embedded.text[:4096].encode())
        if fmt is None or (fmt == formats.YAML and self.depth >= _MAX_EMBEDDING):
            return
        scanner = ConfigYamlScanner(self.depth + 1) if fmt == formats.YAML else _BY_FORMAT[fmt]()
        inner = FindingCollector(collector.base, collector.budget)
        try:
            scanner.check(embedded.text, inner)
        except LimitExceeded as exc:
            inner.limit(exc.what, f"{exc.what} exceeded (limit {exc.limit}); {exc.fix}")
        except MalformedInput as exc:
            inner.incomplete.append(f"malformed {fmt}")
            inner.findings.append(
                MALFORMED_RULE.finding(
                    inner.base, f"{fmt}: {exc}", severity=TEXT_MALFORMED_SEVERITY
                )
            )
        collector.incomplete.extend(f"{embedded.field}: {what}" for what in inner.incomplete)
        for finding in inner.findings:
            inside = finding.location
            line = embedded.line
            if embedded.follows_key and line is not None and inside.line is not None:
                line += inside.line  # a block scalar starts on the line after its key
            field = embedded.field + (f" > {inside.field}" if inside.field else "")
            moved = Location(inside.path, inside.member, None, line, field)
            collector.adopt(replace(finding, location=moved))


class ShellScriptScanner(_TextConfigScanner):
    """Shell scripts (``*.sh`` and files with a shell shebang)."""

    format_name = formats.SHELL

    def check(self, text: str, collector: FindingCollector) -> None:
        script = parse_script(text, tick=collector.tick)
        site = CommandSite(collector, None)
        for assignment in script.assignments:
            where = site.at_line(assignment.line)
            env_settings.check_variable(assignment.name, assignment.value, where)
        launch_commands.check_script(script, site)
        if script.truncated:
            collector.limit(
                "shell commands", "the script has too many commands or nested `sh -c` levels"
            )


class JupyterConfigScanner(_TextConfigScanner):
    """``jupyter_*_config.py`` (read with ``ast``, never run) and ``.json``."""

    format_name = formats.JUPYTER

    def check(self, text: str, collector: FindingCollector) -> None:
        if text.lstrip().startswith("{"):
            try:
                document = json.loads(text)
            except ValueError as exc:
                raise MalformedInput(f"not valid JSON: {exc}") from None
            except _JSON_DEPTH_ERRORS:
                raise LimitExceeded(
                    "JSON nesting", sys.getrecursionlimit(), "flatten the file"
                ) from None
            settings = jupyter_checks.json_settings(document)
        else:
            settings = dict(read_traitlets_python(text))

        def emit(rule: Rule, evidence: str, line: int | None, severity: Severity | None) -> None:
            collector.add(rule, evidence, line=line, severity=severity)

        jupyter_checks.judge(settings, emit)


class JavaPropertiesScanner(_TextConfigScanner):
    """Java ``.properties`` files; TorchServe's ``config.properties`` is checked."""

    format_name = formats.PROPERTIES

    def check(self, text: str, collector: FindingCollector) -> None:
        props = read_properties(text)
        if set(props) & torchserve_checks.KNOWN_KEYS:
            torchserve_checks.check_properties(props, collector)


class ConfigIniScanner(_TextConfigScanner):
    """INI files: MLflow ``basic_auth.ini``, ``pip.conf``/``pip.ini``, supervisord."""

    format_name = formats.INI

    def check(self, text: str, collector: FindingCollector) -> None:
        sections = read_ini(text)
        if set(sections) == {""} and set(sections[""]) & torchserve_checks.KNOWN_KEYS:
            # A sectionless `*.conf` with TorchServe keys is a properties file by another name.
            torchserve_checks.check_properties(read_properties(text), collector)
            return
        mlflow_checks.check_basic_auth_ini(sections, collector)
        pip_sections = {k: v for k, v in sections.items() if k in _PIP_SECTIONS}
        supply_chain_checks.check_pip_config(pip_sections, collector)
        for section, entries in sections.items():
            if not section.startswith("program:") or "command" not in entries:
                continue
            command, line = entries["command"]
            site = CommandSite(collector, line, f"{section}.command")
            script = parse_script(command, first_line=line, tick=collector.tick)
            launch_commands.check_script(script, site)


class DotenvScanner(_TextConfigScanner):
    """``.env`` files: variables that configure ML services insecurely."""

    format_name = formats.DOTENV

    def check(self, text: str, collector: FindingCollector) -> None:
        for name, value, line in read_dotenv(text):
            collector.tick()
            env_settings.check_variable(name, value, CommandSite(collector, line, name))


class MlwardenTomlScanner(_TextConfigScanner):
    """mlwarden's own ``mlwarden.toml``."""

    format_name = formats.MLWARDEN_TOML

    def check(self, text: str, collector: FindingCollector) -> None:
        mlwarden_toml_checks.check_mlwarden_toml(text, collector)


_MAX_EMBEDDING = 2
"""YAML files inside ConfigMaps inside YAML files ... are followed this many levels."""

SCANNERS: tuple[type[_TextConfigScanner], ...] = (
    DockerfileScanner,
    ConfigYamlScanner,
    ShellScriptScanner,
    JupyterConfigScanner,
    JavaPropertiesScanner,
    ConfigIniScanner,
    DotenvScanner,
    MlwardenTomlScanner,
)
"""Every configuration scanner class."""
_BY_FORMAT: dict[str, type[_TextConfigScanner]] = {s.format_name: s for s in SCANNERS}
