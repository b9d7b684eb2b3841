"""Dockerfile checks: the user the image runs as, what the build downloads and trusts,
secrets baked into layers, and the command the container starts.

Stages are followed as the builder follows them: ``FROM <stage>`` inherits the user,
environment and command of that stage, ``ARG`` values before the first ``FROM`` resolve
image names, ``ENV``/``ARG`` values are visible to later ``RUN`` lines and to the final
``CMD``/``ENTRYPOINT``, which go through the same launch checks as shell scripts.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace

from mlwarden.findings import Rule, Severity
from mlwarden.scanners.config import env_settings, launch_commands
from mlwarden.scanners.config.collector import CommandSite, FindingCollector
from mlwarden.scanners.config.dockerfile_parser import Instruction
from mlwarden.scanners.config.image_references import unpinned_reason
from mlwarden.scanners.config.secret_names import is_literal_secret, is_secret_name, shorten
from mlwarden.scanners.config.shell_parser import (
    SHELLS,
    expand,
    parse_argv,
    parse_script,
    program_name,
    unwrap,
)
from mlwarden.taxonomy import (
    CWE_DOWNLOAD_WITHOUT_INTEGRITY,
    CWE_HARDCODED_CREDENTIALS,
    CWE_UNNECESSARY_PRIVILEGES,
    OWASP_ML06_SUPPLY_CHAIN,
)

RUNS_AS_ROOT = Rule(
    "MLW-CFG-060",
    "Container runs as root",
    Severity.MEDIUM,
    "Add `USER <non-root uid>` at the end of the final stage (create the user in the image "
    "first); install what needs root before it.",
    (CWE_UNNECESSARY_PRIVILEGES,),
    "A compromised model server, notebook or loaded model then holds root inside the "
    "container, one kernel bug away from the host.",
)
BASE_UNPINNED = Rule(
    "MLW-CFG-062",
    "Base image not pinned (no tag or `latest`)",
    Severity.MEDIUM,
    "Pin the base image by digest (`image:tag@sha256:...`) and update it deliberately.",
    (CWE_DOWNLOAD_WITHOUT_INTEGRITY, OWASP_ML06_SUPPLY_CHAIN),
)
BASE_TAG_ONLY = Rule(
    "MLW-CFG-063",
    "Base image pinned by tag only, not by digest",
    Severity.LOW,
    "Add the digest (`image:tag@sha256:...`): a tag can be moved to different content.",
    (CWE_DOWNLOAD_WITHOUT_INTEGRITY, OWASP_ML06_SUPPLY_CHAIN),
)
ADD_WITHOUT_CHECKSUM = Rule(
    "MLW-CFG-064",
    "ADD downloads from a URL without a checksum",
    Severity.MEDIUM,
    "Use `ADD --checksum=sha256:<digest> <url> <dest>` (or download and verify in RUN).",
    (CWE_DOWNLOAD_WITHOUT_INTEGRITY, OWASP_ML06_SUPPLY_CHAIN),
)
SECRET_IN_IMAGE = Rule(
    "MLW-CFG-065",
    "Secret passed through ENV or ARG (kept in the image or its history)",
    Severity.HIGH,
    "Use BuildKit secrets (`RUN --mount=type=secret,id=...`) at build time and inject "
    "runtime secrets from the orchestrator; rotate the exposed value.",
    (CWE_HARDCODED_CREDENTIALS,),
    "ENV values are stored in the image config and ARG values in `docker history`; anyone "
    "who can pull the image can read them.",
)
RULES = (RUNS_AS_ROOT, BASE_UNPINNED, BASE_TAG_ONLY, ADD_WITHOUT_CHECKSUM, SECRET_IN_IMAGE)

_ROOT_USERS = frozenset({"root", "0"})


@dataclass(frozen=True)
class _Command:
    words: tuple[str, ...] | None
    """Exec form, or None for shell form."""
    text: str
    line: int

    def argv(self) -> list[str]:
        return list(self.words) if self.words is not None else ["/bin/sh", "-c", self.text]


@dataclass
class _Stage:
    name: str | None
    line: int
    user: str | None = None
    user_line: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    cmd: _Command | None = None
    entrypoint: _Command | None = None
    posix_shell: bool = True


def _check_base(image: str, ins: Instruction, collector: FindingCollector) -> None:
    if "$" in image or image.lower() == "scratch":
        return
    reason = unpinned_reason(image)
    if reason == "tag only":
        collector.add(BASE_TAG_ONLY, f"FROM {image}", line=ins.line)
    elif reason is not None:
        collector.add(BASE_UNPINNED, f"FROM {image} ({reason})", line=ins.line)


def _env_pairs(arguments: str) -> list[tuple[str, str]]:
    try:
        words = shlex.split(arguments)
    except ValueError:
        return []
    if not words:
        return []
    if "=" not in words[0]:
        return [(words[0], " ".join(words[1:]))]  # legacy `ENV NAME value`
    return [tuple(w.split("=", 1)) for w in words if "=" in w]  # type: ignore[misc]


class _Checker:
    def __init__(self, collector: FindingCollector) -> None:
        self.collector = collector
        self.global_args: dict[str, str] = {}
        self.stages: list[_Stage] = []

    def site(self, stage: _Stage, line: int, field_path: str | None = None) -> CommandSite:
        return CommandSite(self.collector, line, field_path, dict(stage.env), in_container=True)

    def run(self, instructions: list[Instruction]) -> None:
        for ins in instructions:
            self.collector.tick()
            if ins.keyword == "FROM":
                self.from_(ins)
            elif not self.stages:
                if ins.keyword == "ARG":
                    for name, value, _has in self.arg_pairs(ins):
                        self.global_args[name] = value
                        self.check_arg(name, value, _has, ins)
            else:
                self.instruction(self.stages[-1], ins)
        if self.stages:
            self.finish(self.stages[-1])

    def from_(self, ins: Instruction) -> None:
        words = expand(ins.arguments, self.global_args).split()
        if not words:
            return
        image = words[0]
        name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
        parent = next((s for s in self.stages if s.name and s.name == image.lower()), None)
        if parent is not None:
            stage = replace(parent, name=name.lower() if name else None, line=ins.line)
            stage.env = dict(parent.env)
        else:
            _check_base(image, ins, self.collector)
            stage = _Stage(name.lower() if name else None, ins.line)
        self.stages.append(stage)

    @staticmethod
    def arg_pairs(ins: Instruction) -> list[tuple[str, str, bool]]:
        out: list[tuple[str, str, bool]] = []
        try:
            words = shlex.split(ins.arguments)
        except ValueError:
            return out
        for word in words:
            name, eq, value = word.partition("=")
            out.append((name, value, bool(eq)))
        return out

    def check_arg(self, name: str, value: str, has_default: bool, ins: Instruction) -> None:
        if not is_secret_name(name):
            return
        if has_default and is_literal_secret(name, value):
            self.collector.add(
                SECRET_IN_IMAGE,
                f"ARG {name} has a literal default ({len(value)} characters)",
                line=ins.line,
                field_path=f"ARG {name}",
            )
        elif not has_default:
            self.collector.add(
                SECRET_IN_IMAGE,
                f"ARG {name}: build arguments are recorded in the image history",
                line=ins.line,
                field_path=f"ARG {name}",
                severity=Severity.MEDIUM,
            )

    def instruction(self, stage: _Stage, ins: Instruction) -> None:
        keyword = ins.keyword
        if keyword == "USER":
            words = expand(ins.arguments, stage.env).split()
            stage.user = words[0] if words else None
            stage.user_line = ins.line
        elif keyword == "ENV":
            for name, raw in _env_pairs(ins.arguments):
                value = expand(raw, stage.env)
                if is_literal_secret(name, raw):
                    self.collector.add(
                        SECRET_IN_IMAGE,
                        f"ENV {name} is set to a literal value ({len(value)} characters)",
                        line=ins.line,
                        field_path=f"ENV {name}",
                    )
                stage.env[name] = value
                env_settings.check_variable(name, value, self.site(stage, ins.line))
        elif keyword == "ARG":
            for name, value, has_default in self.arg_pairs(ins):
                self.check_arg(name, value, has_default, ins)
                if has_default:
                    stage.env.setdefault(name, expand(value, {**self.global_args, **stage.env}))
                elif name in self.global_args:
                    stage.env.setdefault(name, self.global_args[name])
        elif keyword == "ADD":
            self.add(ins)
        elif keyword == "SHELL":
            shell = ins.exec_form[0] if ins.exec_form else ""
            stage.posix_shell = program_name(shell) in SHELLS
        elif keyword == "RUN":
            self.run_instruction(stage, ins)
        elif keyword in ("CMD", "ENTRYPOINT"):
            command = _Command(ins.exec_form, ins.arguments, ins.line)
            if keyword == "CMD":
                stage.cmd = command
            else:
                stage.entrypoint = command
                stage.cmd = None  # ENTRYPOINT resets an inherited CMD

    def add(self, ins: Instruction) -> None:
        if "checksum" in ins.flags:
            return
        sources = list(ins.exec_form[:-1]) if ins.exec_form else ins.arguments.split()[:-1]
        for source in sources:
            if source.lower().startswith(("http://", "https://")):
                self.collector.add(ADD_WITHOUT_CHECKSUM, f"ADD {shorten(source)}", line=ins.line)

    def run_instruction(self, stage: _Stage, ins: Instruction) -> None:
        site = self.site(stage, ins.line)
        tick = self.collector.tick
        if ins.exec_form is not None:
            launch_commands.check_script(parse_argv(ins.exec_form, line=ins.line, tick=tick), site)
            return
        if not stage.posix_shell:
            return
        script = parse_script(ins.arguments, first_line=ins.line, env=stage.env, tick=tick)
        launch_commands.check_script(script, site)
        head = ins.arguments.split("<<", 1)[0].split()
        # `RUN <<EOF` and `RUN bash <<EOF` run the body as a script; `python <<EOF` does not.
        if not head or program_name(head[0]) in SHELLS:
            for first, body in ins.heredocs:
                script = parse_script(body, first_line=first, env=stage.env, tick=tick)
                launch_commands.check_script(script, site)

    def finish(self, stage: _Stage) -> None:
        user = (stage.user or "").split(":", 1)[0]
        if stage.user is None:
            self.collector.add(
                RUNS_AS_ROOT,
                "the final stage has no USER instruction: the container runs as the base "
                "image's user, root for most images",
                line=stage.line,
            )
        elif user in _ROOT_USERS:
            self.collector.add(RUNS_AS_ROOT, f"USER {stage.user}", line=stage.user_line)
        for argv, line in self.start_commands(stage):
            script = parse_argv(argv, line=line, env=stage.env, tick=self.collector.tick)
            launch_commands.check_script(script, self.site(stage, line))

    @staticmethod
    def start_commands(stage: _Stage) -> list[tuple[list[str], int]]:
        entry, cmd = stage.entrypoint, stage.cmd
        if entry is None:
            return [] if cmd is None else [(cmd.argv(), cmd.line)]
        combined = entry.argv()
        if entry.words is not None and cmd is not None and cmd.words is not None:
            combined += list(cmd.words)
        inner, _env = unwrap(entry.argv())
        if not inner and cmd is not None:
            return [(combined, cmd.line)]  # ENTRYPOINT is only an init wrapper (tini --)
        out = [(combined, entry.line)]
        entry_program = program_name(inner[0]) if inner else ""
        if cmd is not None and (entry_program.endswith(".sh") or "entrypoint" in entry_program):
            out.append((cmd.argv(), cmd.line))  # entrypoint scripts usually `exec "$@"`
        return out


def check_dockerfile(instructions: list[Instruction], collector: FindingCollector) -> None:
    """Check a parsed Dockerfile."""
    _Checker(collector).run(instructions)
