"""Chat templates (Jinja2) shipped inside models: server-side template injection.

GGUF files and Hugging Face ``tokenizer_config.json`` carry a Jinja2 template that the
serving stack renders for every request. Rendered outside Jinja's sandbox (as several
servers did, e.g. CVE-2024-34359), a template that walks Python internals
(``cycler.__init__.__globals__.os.popen``) runs commands. Honest templates only loop over
messages and concatenate strings, so they never touch underscore attributes.

The analysis tokenises the template the way Jinja's lexer does (strings decoded with
their escapes, so ``'\\x5f\\x5fclass\\x5f\\x5f'`` is ``__class__``), folds constant string
expressions (``~``, ``+``, ``*``, ``|join``, ``|reverse``, ``|replace``, ``|format``,
``%`` and ``{% set %}`` variables), and reports:

* critical: a dunder or private name reached or built (``.__class__``, ``['__globals__']``,
  ``'__cla' ~ 'ss__'``, ``self._TemplateReference__context``);
* high: machinery that only obfuscated payloads need (``|attr`` with a computed name,
  subscripts with computed string keys, characters built from numbers, object reprs
  split into characters, internals of Jinja globals, ``include``/``import``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from mlwarden.findings import Finding, Location, Rule, Severity
from mlwarden.scanners.base import LimitExceeded
from mlwarden.taxonomy import (
    ATLAS_MALICIOUS_MODEL,
    CWE_CODE_INJECTION,
    CWE_TEMPLATE_INJECTION,
    OWASP_ML06_SUPPLY_CHAIN,
)

TEMPLATE_CODE = Rule(
    "MLW-TPL-001",
    "Chat template contains code-execution constructs",
    Severity.CRITICAL,
    "Do not serve this model with this template. Replace the chat template with the one "
    "published by the model's authors, and render templates only in Jinja's sandbox.",
    (CWE_TEMPLATE_INJECTION, CWE_CODE_INJECTION, ATLAS_MALICIOUS_MODEL, OWASP_ML06_SUPPLY_CHAIN),
    "The template reaches Python internals (dunder attributes, globals, builtins): rendered "
    "without a sandbox it runs arbitrary code on the inference server.",
)
TEMPLATE_OBFUSCATED = Rule(
    "MLW-TPL-002",
    "Chat template uses obfuscated or dynamic attribute access",
    Severity.HIGH,
    "Review the template by hand before serving the model; honest chat templates do not "
    "compute attribute names or build strings from character codes.",
    (CWE_TEMPLATE_INJECTION, ATLAS_MALICIOUS_MODEL),
    "Constructions that template-injection payloads use to hide dunder names from filters.",
)
RULES = (TEMPLATE_CODE, TEMPLATE_OBFUSCATED)

_MAX_TEMPLATE = 4 << 20
_MAX_FOLD = 10_000  # longest constant string built while folding
_MAX_FOLD_NESTING = 50
_SAFE_PERCENT = re.compile(r"%(?:%|[-#0 +]?\d{0,3}(?:\.\d{0,3})?[sdicrxXoeEfFgG])")
_MAX_SIGNALS = 6

_DUNDER = re.compile(r"__[A-Za-z]\w*__")
_MANGLED = re.compile(r"^_[A-Za-z]\w*__\w+")
_JINJA_GLOBALS = frozenset(
    {"lipsum", "cycler", "joiner", "self", "request", "config", "url_for", "get_flashed_messages"}
)
_LOADING_STATEMENTS = frozenset({"include", "import", "extends", "from"})

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?)
  | (?P<num>\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)
  | (?P<name>[^\W\d]\w*)
  | (?P<op>//|\*\*|==|!=|<=|>=|[-+/*%~|.,:;()\[\]{}<>=!])
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_OPEN = re.compile(r"\{[{%#]")
_CLOSE = {"{{": "}}", "{%": "%}"}
_ENDRAW = re.compile(r"\{%[-+]?\s*endraw\s*[-+]?%\}")


@dataclass(frozen=True, slots=True)
class Tok:
    kind: str  # str | num | name | op | other
    value: str


@dataclass
class _Region:
    kind: str  # "{{" or "{%"
    tokens: list[Tok]
    text_after: str = ""  # template data up to the next region (for {% set %} blocks)


@dataclass
class _Signals:
    critical: list[str] = field(default_factory=list)
    high: list[str] = field(default_factory=list)

    def add(self, severity: Severity, text: str) -> None:
        bucket = self.critical if severity is Severity.CRITICAL else self.high
        if text not in bucket:
            bucket.append(text)


def _decode(literal: str) -> str:
    body = literal[1:-1] if len(literal) >= 2 and literal[-1] == literal[0] else literal[1:]
    body = re.sub(r"\r\n|\r", "\n", body)
    try:  # what Jinja's lexer does to string literals
        return body.encode("ascii", "backslashreplace").decode("unicode-escape")
    except (UnicodeDecodeError, ValueError):
        return body


def _tokenise(src: str, pos: int) -> tuple[list[Tok], int, str]:
    """Tokens of one block starting at ``pos`` (after its opener); return tokens, the
    position after the closer, and which closer ended it."""
    tokens: list[Tok] = []
    depth = 0
    n = len(src)
    while pos < n:
        if depth == 0:
            for closer in ("}}", "%}"):
                for lead in ("", "-", "+"):
                    if src.startswith(lead + closer, pos):
                        return tokens, pos + len(lead) + 2, closer
        m = _TOKEN.match(src, pos)
        if m is None:  # pragma: no cover - the pattern matches any character
            break
        pos = m.end()
        kind = m.lastgroup or "other"
        if kind == "ws":
            continue
        text = m.group()
        if kind == "op" and text in "([{":
            depth += 1
        elif kind == "op" and text in ")]}":
            depth = max(0, depth - 1)
        tokens.append(Tok(kind, _decode(text) if kind == "str" else text))
    return tokens, pos, ""


def _regions(src: str) -> Iterator[_Region]:
    pos = 0
    m = _OPEN.search(src)
    while m is not None:
        opener = m.group()
        start = m.end()
        if start < len(src) and src[start] in "-+":
            start += 1
        if opener == "{#":
            end = src.find("#}", start)
            pos = len(src) if end < 0 else end + 2
            m = _OPEN.search(src, pos)
            continue
        tokens, pos, _ = _tokenise(src, start)
        if opener == "{%" and [t.value for t in tokens] == ["raw"]:
            end_raw = _ENDRAW.search(src, pos)
            pos = len(src) if end_raw is None else end_raw.end()
            m = _OPEN.search(src, pos)
            continue
        m = _OPEN.search(src, pos)
        yield _Region(opener, tokens, src[pos : m.start() if m else len(src)])


Value = str | int | list[str | int] | None


class _Folder:
    """Folds constant string expressions in one block; unknown parts fold to None."""

    def __init__(self, tokens: list[Tok], env: dict[str, str]) -> None:
        self.t = tokens
        self.env = env
        self.i = 0
        self.nesting = 0
        self.found: list[str] = []
        """Every constant string folded so far, including filter and call arguments."""

    def peek(self, offset: int = 0) -> Tok | None:
        j = self.i + offset
        return self.t[j] if j < len(self.t) else None

    def accept(self, value: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind in ("op", "name") and tok.value == value:
            self.i += 1
            return True
        return False

    def concat(self) -> Value:
        left = self.product()
        while self.accept("~") or self.accept("+"):
            right = self.product()
            left = _join(left, right)
        if isinstance(left, str):
            self.found.append(left)
        elif isinstance(left, list):
            self.found.extend(v for v in left if isinstance(v, str))
        return left

    def product(self) -> Value:
        left = self.unary()
        while True:
            if self.accept("*"):
                left = _repeat(left, self.unary())
            elif self.accept("%"):
                right = self.unary()
                left = _percent(left, tuple(right) if isinstance(right, list) else (right,))
            else:
                return left

    def unary(self) -> Value:
        value = self.primary()
        while self.accept("|"):
            name = self.peek()
            if name is None or name.kind != "name":
                return None
            self.i += 1
            args = self.call_args() if self.accept("(") else []
            value = _filter(name.value, value, args)
        return value

    def call_args(self) -> list[Value]:
        args: list[Value] = []
        while self.peek() is not None and not self.accept(")"):
            if self.accept(","):
                continue
            before = self.i
            args.append(self.concat())
            if self.i == before:
                self.i += 1
        return args

    def sequence(self, close: str) -> list[str | int] | None:
        """Comma-separated constants up to ``close``; None when any is unknown."""
        items: list[str | int] = []
        ok = True
        while self.peek() is not None and not self.accept(close):
            if self.accept(","):
                continue
            before = self.i
            item = self.concat()
            if self.i == before:
                self.i += 1
            if isinstance(item, str | int):
                items.append(item)
            else:
                ok = False
        return items if ok else None

    def primary(self) -> Value:
        tok = self.peek()
        if tok is None:
            return None
        if tok.kind == "str":
            self.i += 1
            return tok.value
        if tok.kind == "num":
            self.i += 1
            try:
                return int(tok.value.replace("_", ""))
            except ValueError:
                return None
        if tok.kind == "name":
            self.i += 1
            return self.env.get(tok.value)
        if tok.value in ("(", "[") and self.nesting >= _MAX_FOLD_NESTING:
            self.i += 1
            return None
        if self.accept("("):
            self.nesting += 1
            items = self.sequence(")")
            self.nesting -= 1
            if items is None or len(items) != 1:
                return items  # a tuple, folded like a list
            return items[0]
        if self.accept("["):
            self.nesting += 1
            items = self.sequence("]")
            self.nesting -= 1
            return items
        self.i += 1
        return None


def _join(a: Value, b: Value) -> Value:
    if (
        isinstance(a, str | int)
        and isinstance(b, str | int)
        and not (isinstance(a, int) and isinstance(b, int))
    ):
        out = f"{a}{b}"
        return out if len(out) <= _MAX_FOLD else None
    return None


def _repeat(a: Value, b: Value) -> Value:
    if isinstance(a, int) and isinstance(b, str):
        a, b = b, a
    if isinstance(a, str) and isinstance(b, int) and b >= 0 and len(a) * b <= _MAX_FOLD:
        return a * b
    return None


def _percent(fmt: Value, args: tuple[Value, ...]) -> Value:
    if not isinstance(fmt, str) or any(v is None for v in args):
        return None
    if "%" in _SAFE_PERCENT.sub("", fmt):
        return None  # a width like '%999999999d' would build a huge string
    try:
        out = fmt % args
    except (TypeError, ValueError, OverflowError):
        return None
    return out if len(out) <= _MAX_FOLD else None


def _filter(name: str, value: Value, args: list[Value]) -> Value:
    if value is None:
        return None
    if name == "join" and isinstance(value, list | str):
        sep = args[0] if args and isinstance(args[0], str) else ""
        parts = [str(v) for v in value]
        size = sum(len(p) for p in parts) + len(sep) * len(parts)
        return sep.join(parts) if size <= _MAX_FOLD else None
    if name == "reverse" and isinstance(value, str | list):
        return value[::-1]
    if name in ("lower", "upper", "trim", "string") and isinstance(value, str | int):
        text = str(value)
        return {"lower": text.lower(), "upper": text.upper(), "trim": text.strip()}.get(name, text)
    if name == "replace" and isinstance(value, str) and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, str) and isinstance(new, str) and old:
            out = value.replace(old, new)
            return out if len(out) <= _MAX_FOLD else None
    if name == "format":
        return _percent(value, tuple(args)) if args else value
    if name in ("first", "last") and isinstance(value, list | str) and value:
        return value[0] if name == "first" else value[-1]
    if name == "list" and isinstance(value, str):
        return list(value)
    return None


def _is_internal_name(text: str) -> bool:
    return bool(_DUNDER.search(text) or _MANGLED.match(text))


def _fold_values(tokens: list[Tok], env: dict[str, str]) -> Iterator[str]:
    """Every constant string the block holds or builds: each literal, and each value
    folded from an expression (arguments of calls and filters included)."""
    yield from (t.value for t in tokens if t.kind == "str")
    folder = _Folder(tokens, env)
    while folder.i < len(tokens):
        start = folder.i
        folder.concat()
        if folder.i == start:
            folder.i += 1
    yield from folder.found


def _computed_subscripts(tokens: list[Tok]) -> bool:
    """Whether any subscript ``x[...]`` builds a string key (``x['__cla' ~ name]``).

    One pass with a stack: each open bracket records whether it holds a string and a
    string-building operation, and hands both to its parent when it closes.
    """
    stack: list[list[bool]] = []  # [is_subscript, has_string, builds]
    for j, tok in enumerate(tokens):
        if tok.kind == "op" and tok.value in "([{":
            prev = tokens[j - 1] if j else None
            is_sub = (
                tok.value == "["
                and prev is not None
                and (prev.kind in ("name", "str") or prev.value in (")", "]"))
            )
            stack.append([is_sub, False, False])
        elif tok.kind == "op" and tok.value in ")]}" and stack:
            is_sub, has_string, builds = stack.pop()
            if is_sub and has_string and builds:
                return True
            if stack:
                stack[-1][1] |= has_string
                stack[-1][2] |= builds
        elif stack and tok.kind == "str":
            stack[-1][1] = True
        elif stack and tok.kind == "op" and tok.value in ("~", "%", "*"):
            stack[-1][2] = True
        elif stack and tok.kind == "name" and j and tokens[j - 1].value == "|":
            stack[-1][2] |= tok.value in ("join", "format", "reverse", "replace", "string")
    return False


def _after(tokens: list[Tok], i: int, *values: str) -> bool:
    """Whether the tokens right after index ``i`` are ``values``."""
    return [t.value for t in tokens[i + 1 : i + 1 + len(values)]] == list(values)


def _name_signals(tokens: list[Tok], i: int, signals: _Signals) -> None:
    tok = tokens[i]
    prev = tokens[i - 1].value if i else ""
    if prev == "." and tok.value.startswith("_"):
        signals.add(Severity.CRITICAL, f"reaches the attribute .{tok.value}")
    elif _is_internal_name(tok.value):
        signals.add(Severity.CRITICAL, f"uses the name {tok.value}")
    if (
        tok.value in _JINJA_GLOBALS
        and prev != "."
        and (_after(tokens, i, ".") or _after(tokens, i, "["))
    ):
        signals.add(Severity.HIGH, f"reaches into the Jinja global '{tok.value}'")
    if prev != "|":
        return
    if tok.value == "attr":
        literal = i + 2 < len(tokens) and tokens[i + 2].kind == "str"
        if not (literal and _after(tokens, i, "(", tokens[i + 2].value, ")")):
            signals.add(Severity.HIGH, "looks up an attribute by a computed name (|attr)")
    window = [t.value for t in tokens[max(0, i - 5) : i - 1] if t.kind != "str"]
    if tok.value == "list" and "string" in window and "|" in window:
        signals.add(Severity.HIGH, "splits an object's text into characters")


def _check_block(region: _Region, env: dict[str, str], signals: _Signals) -> None:
    tokens = region.tokens
    for i, tok in enumerate(tokens):
        if tok.kind == "name":
            _name_signals(tokens, i, signals)
        elif (
            tok.kind == "str"
            and "%c" in tok.value
            and (_after(tokens, i, "%") or _after(tokens, i, "|", "format"))
        ):
            signals.add(Severity.HIGH, "builds characters from numbers ('%c')")
    if _computed_subscripts(tokens):
        signals.add(Severity.HIGH, "indexes an object with a computed string key")
    if region.kind == "{%" and tokens and tokens[0].value in _LOADING_STATEMENTS:
        signals.add(Severity.HIGH, f"loads another template ({tokens[0].value})")
    for value in _fold_values(tokens, env):
        if _is_internal_name(value):
            shown = value if len(value) <= 60 else value[:57] + "..."
            signals.add(Severity.CRITICAL, f"builds the internal name {shown!r}")


def _update_env(region: _Region, env: dict[str, str]) -> None:
    tokens = region.tokens
    if region.kind != "{%" or len(tokens) < 2 or tokens[0].value != "set":
        return
    target = tokens[1]
    if target.kind != "name":
        return
    if len(tokens) == 2:  # {% set x %}data{% endset %}
        env[target.value] = region.text_after[:_MAX_FOLD]
        return
    if tokens[2].value == "=":
        value = _Folder(tokens[3:], env).concat()
        if isinstance(value, str):
            env[target.value] = value
        else:
            env.pop(target.value, None)


def analyse_template(text: str) -> _Signals:
    """Signals of template injection in ``text`` (empty when the template is benign)."""
    if len(text) > _MAX_TEMPLATE:
        raise LimitExceeded(
            "chat template length",
            _MAX_TEMPLATE,
            "a chat template this long is not plausible; inspect it by hand",
        )
    signals = _Signals()
    env: dict[str, str] = {}
    for region in _regions(text):
        _check_block(region, env, signals)
        _update_env(region, env)
    return signals


def template_findings(text: str, where: Location, what: str) -> list[Finding]:
    """Findings for the template ``text`` found at ``where`` (``what`` names the key)."""
    signals = analyse_template(text)
    if signals.critical:
        shown = signals.critical[:_MAX_SIGNALS] + signals.high[: _MAX_SIGNALS // 2]
        return [TEMPLATE_CODE.finding(where, f"{what}: " + "; ".join(shown))]
    if signals.high:
        return [TEMPLATE_OBFUSCATED.finding(where, f"{what}: " + "; ".join(signals.high[:6]))]
    return []
