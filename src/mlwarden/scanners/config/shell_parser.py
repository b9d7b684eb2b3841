"""Shell scripts and launch commands, split into the simple commands they run.

This is not a shell: it reads enough of POSIX shell syntax to find which programs a
script starts with which arguments, and what reaches them through a pipe. It joins
backslash continuations and multi-line quotes, skips comments and here-document
bodies, splits on ``;``, ``&&``, ``||``, ``&``, ``|`` and parentheses, drops
redirections, tracks variable assignments and ``export`` so ``--host=$HOST`` can be
resolved, and looks through wrappers (``sudo``, ``exec``, ``env``, ``tini --``,
``gosu``, ``uv run``, ``conda run``, ``python -m``) and into ``sh -c '...'`` scripts.
Words it cannot resolve keep their ``$`` and are treated as unknown by the checks.
Work is bounded: lines per quote, commands per script, nesting of ``sh -c``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

MAX_COMMANDS = 20_000
MAX_WORDS_PER_LINE = 10_000
MAX_QUOTE_LINES = 200
MAX_NESTING = 4
_MAX_EXPANDED = 4_096

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_ASSIGNMENT = re.compile(rf"^({_NAME})=(.*)$", re.DOTALL)
_EXPANSION = re.compile(rf"\$\{{({_NAME})(?:(:?[-=])([^}}]*))?\}}|\$({_NAME})")
_HEREDOC = re.compile(r"(?<!<)<<(-?)[ \t]*(['\"]?)([A-Za-z_][\w.-]*)\2")
_REDIRECTS = frozenset({"<", ">", ">>", ">&", "&>", "&>>", "<>", ">|", "<&", "<<<"})
_PIPES = frozenset({"|", "|&"})
_PUNCTUATION = frozenset(";&|()<>")
_SKIP_WORDS = frozenset({"fi", "done", "esac", "}", "for", "case", "select", "function", "[", "[["})
_PREFIX_WORDS = frozenset({"then", "else", "elif", "do", "if", "while", "until", "!", "{"})
_DECLARE = frozenset({"export", "declare", "typeset", "local", "readonly"})
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh"})
_PYTHON = re.compile(r"^(?:python|python[23](?:\.\d+)?|pypy3?)$")
# `python -m X` modules that are CLIs of the services checked here.
_PYTHON_MODULES: dict[str, tuple[str, ...]] = {
    "jupyterlab": ("jupyter", "lab"),
    "notebook": ("jupyter", "notebook"),
    "nbclassic": ("jupyter", "nbclassic"),
    "jupyter_server": ("jupyter", "server"),
    "ray.scripts.scripts": ("ray",),
    "distributed.cli.dask_scheduler": ("dask-scheduler",),
    "distributed.cli.dask_worker": ("dask-worker",),
}
_PYTHON_VALUE_OPTIONS = frozenset({"-X", "-W", "-Q"})


@dataclass(frozen=True)
class SimpleCommand:
    """One program start: its words, where it is, what it can see."""

    argv: tuple[str, ...]
    """Words after wrappers are removed; ``argv[0]`` is the program as written."""
    line: int
    env: Mapping[str, str] = field(default_factory=dict)
    """Variables set earlier in the script or inline (``FOO=1 cmd``), literal values only."""
    upstream: tuple[str, ...] = ()
    """Programs earlier in the same pipeline (``curl`` for ``curl ... | sh``)."""

    @property
    def program(self) -> str:
        """The program's base name (``/usr/local/bin/mlflow`` → ``mlflow``)."""
        return program_name(self.argv[0]) if self.argv else ""


@dataclass(frozen=True)
class Assignment:
    """``NAME=value`` or ``export NAME=value`` at script level."""

    name: str
    value: str
    line: int


@dataclass
class ShellScript:
    """What a script runs."""

    commands: list[SimpleCommand] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    lines: list[tuple[int, str]] = field(default_factory=list)
    """Logical lines (continuations joined, comments removed) with their first line number."""
    truncated: bool = False
    """True when a bound was reached and the rest was not read."""


def program_name(word: str) -> str:
    """Base name of a program path."""
    return word.rstrip("/").rsplit("/", 1)[-1]


def expand(word: str, env: Mapping[str, str]) -> str:
    """Substitute ``$NAME``, ``${NAME}`` and ``${NAME:-default}`` from ``env``; unknown
    variables without a default are left as written."""
    if "$" not in word:
        return word

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        if name in env:
            value = env[name]
            if match.group(2) == ":-" and value == "":
                return match.group(3) or ""
            return value
        if match.group(2) is not None:
            return match.group(3) or ""
        return match.group(0)

    out = _EXPANSION.sub(one, word)
    return out[:_MAX_EXPANDED]


def strip_comment(line: str) -> str:
    """``line`` without a trailing ``# comment`` (a ``#`` inside a word or quotes stays)."""
    quote = ""
    escaped = False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t;&|()"):
            return line[:i]
    return line


def _tokens(text: str) -> list[str] | None:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    words: list[str] = []
    try:
        for word in lexer:
            words.append(word)
            if len(words) > MAX_WORDS_PER_LINE:
                break
    except ValueError:
        return None
    return words


def _logical_lines(text: str, first_line: int) -> Iterator[tuple[int, str, list[str]]]:
    raw = text.split("\n")
    i = 0
    while i < len(raw):
        start = i
        line = raw[i]
        i += 1
        # Backslash-newline joins lines (an even run of backslashes is literal).
        while line.endswith("\\") and (len(line) - len(line.rstrip("\\"))) % 2 == 1:
            if i >= len(raw):
                line = line[:-1]
                break
            line = line[:-1] + raw[i]
            i += 1
        line = strip_comment(line.rstrip("\r"))
        words = _tokens(line)
        extra = 0
        # A quote left open continues on the next lines.
        while words is None and i < len(raw) and extra < MAX_QUOTE_LINES:
            line = line + "\n" + raw[i].rstrip("\r")
            i += 1
            extra += 1
            words = _tokens(line)
        if words is None:
            continue
        # Here-document bodies are data for the command, not commands.
        for match in _HEREDOC.finditer(line):
            delimiter = match.group(3)
            strip_tabs = match.group(1) == "-"
            while i < len(raw):
                body = raw[i].rstrip("\r")
                i += 1
                if (body.lstrip("\t") if strip_tabs else body) == delimiter:
                    break
        yield first_line + start, line, words


def _segments(words: list[str]) -> Iterator[tuple[list[str], bool]]:
    """Split words at operators; yields (words, pipes_into_next)."""
    current: list[str] = []
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
            continue
        if word and set(word) <= _PUNCTUATION:
            if word in _REDIRECTS or word == "<<":
                if len(current) > 1 and current[-1].isdigit():
                    current.pop()  # the file descriptor of `2>file`
                skip_next = True
                continue
            yield current, word in _PIPES or ("|" in word and "||" not in word)
            current = []
            continue
        current.append(word)
    yield current, False


def _strip_prefix_words(argv: list[str]) -> list[str]:
    while argv and argv[0] in _PREFIX_WORDS:
        argv = argv[1:]
    return argv


def _skip_options(args: list[str], with_value: frozenset[str] = frozenset()) -> list[str]:
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        if args[i] == "--":
            return args[i + 1 :]
        if args[i] in with_value:
            i += 1
        i += 1
    return args[i:]


_SUDO_VALUE = frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-U", "-r", "-t", "-T", "-R"})
_UV_RUN_VALUE = frozenset(
    {"--with", "--python", "-p", "--project", "--directory", "--env-file", "--extra", "--group",
     "--package", "--index", "--from", "--with-requirements"}
)  # fmt: skip
_CONDA_RUN_VALUE = frozenset({"-n", "--name", "-p", "--prefix", "--cwd"})
_RUNNERS = frozenset({"poetry", "pipenv", "hatch", "pdm", "pixi", "rye"})
_PLAIN_WRAPPERS = frozenset({"nohup", "setsid", "stdbuf", "time", "catatonit", "dumb-init"})


def unwrap(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """Remove wrappers that start another program; returns the inner argv and any
    ``env NAME=value`` settings met on the way."""
    inline: dict[str, str] = {}
    for _ in range(12):
        if not argv:
            break
        prog = program_name(argv[0])
        rest = argv[1:]
        if prog == "sudo":
            argv = _skip_options(rest, _SUDO_VALUE)
        elif prog == "exec":
            argv = _skip_options(rest, frozenset({"-a"}))
        elif prog in _PLAIN_WRAPPERS or prog == "tini":
            argv = _skip_options(rest, frozenset({"-e", "-p", "-o"}))
        elif prog == "nice":
            argv = _skip_options(rest, frozenset({"-n"}))
        elif prog == "ionice":
            argv = _skip_options(rest, frozenset({"-c", "-n", "-p"}))
        elif prog == "timeout":
            argv = _skip_options(rest, frozenset({"-s", "-k"}))[1:]
        elif prog in ("gosu", "su-exec"):
            argv = rest[1:]
        elif prog == "env":
            rest = _skip_options(rest, frozenset({"-u", "-C", "--unset", "--chdir"}))
            while rest and (match := _ASSIGNMENT.match(rest[0])):
                inline[match.group(1)] = match.group(2)
                rest = rest[1:]
            argv = rest
        elif prog == "uv" and rest[:1] == ["run"]:
            argv = _skip_options(rest[1:], _UV_RUN_VALUE)
        elif prog in _RUNNERS and rest[:1] == ["run"]:
            argv = _skip_options(rest[1:])
        elif prog in ("conda", "mamba", "micromamba") and rest[:1] == ["run"]:
            argv = _skip_options(rest[1:], _CONDA_RUN_VALUE)
        elif _PYTHON.match(prog):
            module = _python_module(rest)
            if module is None:
                break
            name, tail = module
            argv = [*_PYTHON_MODULES.get(name, (name,)), *tail]
        else:
            break
    return argv, inline


def _python_module(args: list[str]) -> tuple[str, list[str]] | None:
    i = 0
    while i < len(args) and args[i].startswith("-"):
        if args[i] == "-m" and i + 1 < len(args):
            return args[i + 1], args[i + 2 :]
        if args[i].startswith("-m") and len(args[i]) > 2:
            return args[i][2:], args[i + 1 :]
        if args[i] == "-c":
            return None
        if args[i] in _PYTHON_VALUE_OPTIONS:
            i += 1
        i += 1
    return None


def shell_script_argument(argv: list[str]) -> str | None:
    """The script of ``sh -c 'script'`` (also ``bash -lc``, ``-ec``); ``None`` otherwise."""
    if not argv or program_name(argv[0]) not in SHELLS:
        return None
    for i, word in enumerate(argv[1:], start=1):
        if not word.startswith("-") or word == "-":
            return None
        if word.startswith("--"):
            continue
        if "c" in word[1:]:
            return argv[i + 1] if i + 1 < len(argv) else None
    return None


class _Parser:
    def __init__(self, tick: Callable[[], None] | None) -> None:
        self.out = ShellScript()
        self.tick = tick

    def script(self, text: str, first_line: int, env: dict[str, str], depth: int) -> None:
        for line_no, line, words in _logical_lines(text, first_line):
            if self.out.truncated:
                return
            self.out.lines.append((line_no, line))
            upstream: list[str] = []
            for segment, piped in _segments(words):
                self.segment(segment, line_no, env, upstream, depth)
                upstream = [*upstream, *self._programs(segment)] if piped else []

    @staticmethod
    def _programs(segment: list[str]) -> list[str]:
        words = _strip_prefix_words(list(segment))
        while words and _ASSIGNMENT.match(words[0]):
            words = words[1:]
        inner, _ = unwrap(words)
        return [program_name(inner[0])] if inner else []

    def segment(
        self,
        words: list[str],
        line: int,
        env: dict[str, str],
        upstream: list[str],
        depth: int,
    ) -> None:
        words = _strip_prefix_words(words)
        if not words or words[0] in _SKIP_WORDS:
            return
        inline: dict[str, str] = {}
        while words and (match := _ASSIGNMENT.match(words[0])):
            inline[match.group(1)] = expand(match.group(2), env)
            words = words[1:]
        if not words:
            for name, value in inline.items():
                env[name] = value
                self.out.assignments.append(Assignment(name, value, line))
            return
        if words[0] in _DECLARE:
            for word in words[1:]:
                if match := _ASSIGNMENT.match(word):
                    value = expand(match.group(2), env)
                    env[match.group(1)] = value
                    self.out.assignments.append(Assignment(match.group(1), value, line))
            return
        if words[0] == "unset":
            for word in words[1:]:
                env.pop(word, None)
            return
        self.command(words, line, {**env, **inline}, upstream, depth)

    def command(
        self,
        words: list[str],
        line: int,
        env: dict[str, str],
        upstream: list[str],
        depth: int,
        *,
        shell: bool = True,
    ) -> None:
        if len(self.out.commands) >= MAX_COMMANDS:
            self.out.truncated = True
            return
        if self.tick is not None:
            self.tick()
        argv, inline = unwrap([expand(w, env) for w in words] if shell else list(words))
        if inline:
            env = {**env, **inline}
        script = shell_script_argument(argv)
        if script is not None:
            if depth >= MAX_NESTING:
                self.out.truncated = True
                return
            self.script(script, line, dict(env), depth + 1)
            return
        if argv:
            self.out.commands.append(SimpleCommand(tuple(argv), line, env, tuple(upstream)))


def parse_script(
    text: str,
    *,
    first_line: int = 1,
    env: Mapping[str, str] | None = None,
    tick: Callable[[], None] | None = None,
) -> ShellScript:
    """Read ``text`` as a POSIX shell script starting at line ``first_line``."""
    parser = _Parser(tick)
    parser.script(text, first_line, dict(env or {}), 0)
    return parser.out


def parse_argv(
    argv: list[str] | tuple[str, ...],
    *,
    line: int,
    env: Mapping[str, str] | None = None,
    tick: Callable[[], None] | None = None,
) -> ShellScript:
    """Read an exec-form command (a JSON or YAML list of words). No shell runs it, so its
    words are not expanded; ``sh -c`` scripts in it are parsed as scripts."""
    parser = _Parser(tick)
    known = dict(env or {})
    parser.out.lines.append((line, " ".join(argv)))
    parser.command(list(argv), line, known, [], 0, shell=False)
    return parser.out
