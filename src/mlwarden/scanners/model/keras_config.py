"""Keras model configs (``.keras`` ``config.json``, HDF5 ``model_config``, SavedModel
metadata) and JSON files that carry a chat template.

Loading a Keras model rebuilds every object its config names, so the config decides what
code runs: Lambda layers carry marshalled Python bytecode, ``module`` fields make Keras
import arbitrary modules (CVE-2025-1550), function references can name Keras's own
gadgets (``get_file``, ``enable_unsafe_deserialization``: CVE-2025-8747, CVE-2025-9906),
and lookup layers read files named in their config. :func:`analyse_keras_config` walks
any parsed config; HDF5 and SavedModel scanners call it too. Nothing is unmarshalled:
Lambda bytecode is only base64-decoded to show the names it uses.
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
from collections.abc import Iterable, Iterator

from mlwarden.findings import Finding, Location, Rule, Severity
from mlwarden.limits import Limits
from mlwarden.scanners.base import Blob, Buffer, LimitExceeded, MalformedInput, ScanContext
from mlwarden.scanners.model.chat_template import RULES as TEMPLATE_RULES
from mlwarden.scanners.model.chat_template import template_findings
from mlwarden.scanners.model.keras_names import (
    FILE_ARGUMENTS,
    KERAS_DANGEROUS_FUNCTIONS,
    KERAS_FUNCTION_FAMILIES,
    KERAS_ROOTS,
    KNOWN_CLASSES,
    SPECIAL_CLASSES,
    TF_CODE_FUNCTIONS,
    TF_FILE_FUNCTIONS,
    TF_ROOTS,
)
from mlwarden.scanners.model.pickle_policy import PicklePolicy, Verdict, policy_for
from mlwarden.taxonomy import (
    ATLAS_SUPPLY_CHAIN_MODEL,
    CODE_EXECUTION_TAGS,
    CWE_CODE_INJECTION,
    CWE_FILE_ACCESS,
    CWE_UNTRUSTED_FUNCTIONALITY,
)

_FIX_CODE = (
    "Do not load this model. If you trust its author, ask for a version without Lambda "
    "layers or custom code; never pass safe_mode=False for an untrusted file."
)
LAMBDA_CODE = Rule(
    "MLW-KER-001",
    "Keras Lambda layer carries Python code",
    Severity.CRITICAL,
    _FIX_CODE,
    (*CODE_EXECUTION_TAGS, CWE_CODE_INJECTION),
    "Lambda layers store a function as marshalled bytecode (or source); loading rebuilds and "
    "runs it (CVE-2024-3660; HDF5 files ignore safe_mode, CVE-2025-9905).",
)
FOREIGN_MODULE = Rule(
    "MLW-KER-002",
    "Keras config makes loading import a module outside Keras",
    Severity.HIGH,
    "Do not load this model unless you know the module and trust it; Keras imports it "
    "and looks the object up in it (CVE-2025-1550).",
    (*CODE_EXECUTION_TAGS, CWE_UNTRUSTED_FUNCTIONALITY),
)
GADGET_FUNCTION = Rule(
    "MLW-KER-003",
    "Keras config references a function that runs code or touches files",
    Severity.CRITICAL,
    _FIX_CODE,
    (*CODE_EXECUTION_TAGS, CWE_CODE_INJECTION),
    "Function references in a config are resolved and called while the model is built: "
    "Keras's own get_file or enable_unsafe_deserialization are enough to bypass safe mode.",
)
TF_OP = Rule(
    "MLW-KER-004",
    "Keras TFOpLambda calls a TensorFlow function that runs code or touches files",
    Severity.HIGH,
    "Do not load this model; rebuild it without the listed TensorFlow call.",
    (*CODE_EXECUTION_TAGS, CWE_FILE_ACCESS),
)
CUSTOM_OBJECT = Rule(
    "MLW-KER-005",
    "Keras config needs a custom or unusual object",
    Severity.MEDIUM,
    "Loading runs the named class or function from your environment; make sure the code "
    "that provides it is your own and reviewed.",
    (ATLAS_SUPPLY_CHAIN_MODEL, CWE_UNTRUSTED_FUNCTIONALITY),
)
FILE_REFERENCE = Rule(
    "MLW-KER-006",
    "Keras layer reads a file or URL named in the config",
    Severity.HIGH,
    "Do not load this model: the path is opened at load time even in safe mode (local file "
    "read or request to an internal URL). Ask for a model with an inline vocabulary.",
    (CWE_FILE_ACCESS, ATLAS_SUPPLY_CHAIN_MODEL),
)
KERAS_RULES = (LAMBDA_CODE, FOREIGN_MODULE, GADGET_FUNCTION, TF_OP, CUSTOM_OBJECT, FILE_REFERENCE)
RULES = KERAS_RULES + TEMPLATE_RULES

_MARKERS = (b'"class_name"', b'"chat_template"')
_SCRIPT_MODULES = frozenset({"", "__main__", "__mp_main__"})
_MAX_NAMES = 12
_MAX_CODE = 1 << 20

Judged = tuple[Rule, Severity | None, str]


# ------------------------------------------------------------------ JSON, bounded


def parse_json(data: Buffer, limits: Limits, what: str) -> object:
    """Parse a JSON document of at most ``max_metadata_bytes``; deeper nesting than the
    parser supports is a limit, anything else invalid is malformed."""
    if len(data) > limits.max_metadata_bytes:
        raise LimitExceeded(
            f"{what} size",
            limits.max_metadata_bytes,
            "raise limits.max_metadata_bytes if the document is trusted to be this large",
        )
    try:
        return json.loads(bytes(data))
    except RecursionError:
        raise LimitExceeded(
            f"{what} nesting", sys.getrecursionlimit(), "flatten the document"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedInput(f"{what} is not valid JSON: {exc}") from None


def _mentions(data: memoryview, needles: tuple[bytes, ...]) -> bool:
    chunk, overlap = 16 << 20, 64
    for start in range(0, len(data), chunk):
        piece = bytes(data[max(0, start - overlap) : start + chunk])
        if any(n in piece for n in needles):
            return True
    return False


# ------------------------------------------------------------------ walking a config


def _name_of(obj: dict[str, object]) -> str | None:
    config = obj.get("config")
    if isinstance(config, dict) and isinstance(config.get("name"), str):
        return str(config["name"])
    name = obj.get("name")
    return name if isinstance(name, str) else None


def _objects(doc: object, max_depth: int) -> Iterator[tuple[dict[str, object], str]]:
    """Every dict with a ``class_name`` in ``doc`` and the name of the object around it."""
    stack: list[tuple[object, str, int]] = [(doc, "", 0)]
    while stack:
        node, owner, depth = stack.pop()
        if depth > max_depth:
            raise LimitExceeded("Keras config nesting", max_depth, "flatten the config")
        children: Iterable[object] = ()
        if isinstance(node, dict):
            owner = _name_of(node) or owner
            if isinstance(node.get("class_name"), str):
                yield node, owner
            children = node.values()
        elif isinstance(node, list):
            children = node
        stack.extend(
            (child, owner, depth + 1)
            for child in reversed(list(children))
            if isinstance(child, dict | list)
        )


def _under(module: str, roots: frozenset[str]) -> bool:
    return any(module == r or module.startswith(r + ".") for r in roots)


def _keras_family(module: str) -> str:
    parts = [p for p in module.split(".") if p not in ("src", "api", "_v2", "python")]
    return parts[1] if len(parts) > 1 else ""


def _tf_symbol_problem(symbol: str) -> tuple[Severity, str] | None:
    symbol = symbol.removeprefix("tf.").removeprefix("tensorflow.")
    if any(symbol == n or symbol.endswith("." + n) for n in TF_CODE_FUNCTIONS):
        return Severity.CRITICAL, "runs Python or loads native code"
    if any(
        symbol == f or symbol.startswith(f + ".") or symbol.endswith("." + f)
        for f in TF_FILE_FUNCTIONS
    ):
        return Severity.HIGH, "reads or writes files"
    return None


def _marshal_strings(code: bytes) -> list[str]:
    """Strings in a marshalled code object (its names and constants), found by reading
    marshal's string records; nothing is unmarshalled."""
    found: list[str] = []
    i = 0
    while i < len(code) and len(found) < _MAX_NAMES * 4:
        kind = code[i] & 0x7F
        if kind in (0x7A, 0x5A) and i + 1 < len(code):  # short ASCII (interned)
            n, start = code[i + 1], i + 2
        elif kind in (0x61, 0x41, 0x75, 0x74, 0x73) and i + 5 <= len(code):
            n, start = int.from_bytes(code[i + 1 : i + 5], "little"), i + 5
        else:
            i += 1
            continue
        raw = code[start : start + n]
        if len(raw) == n and n and kind != 0x73 and all(32 <= b < 127 for b in raw):
            text = raw.decode("ascii")
            if text not in found:
                found.append(text)
            i = start + n
        elif kind == 0x73 and len(raw) == n:
            i = start + n  # bytecode itself: skip so its bytes are not read as strings
        else:
            i += 1
    return found


def describe_code(value: object) -> str:
    """Evidence for a serialised function: its size and the strings it uses."""
    text = value
    if isinstance(value, dict):
        text = value.get("code", value.get("value"))
    if isinstance(text, list) and text:
        text = text[0]
    if not isinstance(text, str):
        return f"a function serialised as {type(text).__name__}"
    if text.lstrip().startswith(("lambda", "def ")):
        return f"Python source {text[:80]!r}"
    try:
        code = base64.b64decode(text[: _MAX_CODE * 2], validate=False)
    except (binascii.Error, ValueError):
        return f"an undecodable function string {text[:40]!r}"
    if not code or code[0] & 0x7F != 0x63:  # marshal's TYPE_CODE
        return f"a base64 string of {len(code)} bytes that is not a code object"
    names = [s if len(s) <= 60 else s[:57] + "..." for s in _marshal_strings(code)]
    shown = ", ".join(repr(s) for s in names[:_MAX_NAMES])
    return f"marshalled Python bytecode ({len(code)} bytes; strings: {shown or 'none'})"


def _looks_like_code(value: object) -> bool:
    text = value[0] if isinstance(value, list) and value else value
    if not isinstance(text, str) or len(text) < 40:  # bytecode is hundreds of characters
        return False
    if text.lstrip().startswith(("lambda", "def ")):
        return True
    try:
        head = base64.b64decode(text[:16], validate=False)
    except (binascii.Error, ValueError):
        return False
    return bool(head) and head[0] & 0x7F == 0x63


class _Judge:
    """Judges each Keras object dict; module names are judged with the pickle policy's
    lists of dangerous callables, so both analyses agree on what ``os.system`` is."""

    def __init__(self, policy: PicklePolicy) -> None:
        self.policy = policy

    def judge(self, obj: dict[str, object], owner: str) -> Iterator[Judged]:
        cls = str(obj["class_name"])
        raw_module = obj.get("module")
        module = raw_module if isinstance(raw_module, str) else None
        config = obj.get("config")
        where = f"{cls} {owner!r}" if owner else cls
        if cls == "__lambda__":
            yield LAMBDA_CODE, None, f"{where}: {describe_code(config)}"
        elif cls == "Lambda":
            yield from self.lambda_layer(config, where)
        elif cls == "function":
            name = config if isinstance(config, str) else obj.get("registered_name")
            yield from self.function(module, str(name), where)
        elif cls in ("TFOpLambda", "SlicingOpLambda") and isinstance(config, dict):
            symbol = str(config.get("function", ""))
            problem = _tf_symbol_problem(symbol)
            if problem is not None:
                yield TF_OP, problem[0], f"{where} calls tf.{symbol}: {problem[1]}"
        for key in FILE_ARGUMENTS.get(cls, ()):
            value = config.get(key) if isinstance(config, dict) else None
            if isinstance(value, str) and value:
                yield FILE_REFERENCE, None, f"{where} opens {key} {value[:200]!r} at load time"
        if cls == "__typespec__" and isinstance(obj.get("spec_name"), str):
            cls = str(obj["spec_name"])
        if module is not None and cls != "function":
            yield from self.module_object(module, cls, where)
        elif module is None and cls not in KNOWN_CLASSES and cls not in SPECIAL_CLASSES:
            bare = cls.split(">", 1)[1] if cls.startswith(("Custom>", "keras>")) else cls
            if bare not in KNOWN_CLASSES:
                yield CUSTOM_OBJECT, None, f"{where}: class {cls!r} is not a Keras built-in"
        registered = obj.get("registered_name")
        if isinstance(registered, str) and ">" in registered:
            package = registered.split(">", 1)[0]
            if package not in ("keras", "Custom") and not _under(package, KERAS_ROOTS):
                yield CUSTOM_OBJECT, None, f"{where}: registered custom object {registered!r}"

    def lambda_layer(self, config: object, where: str) -> Iterator[Judged]:
        if not isinstance(config, dict):
            return
        for key in ("function", "output_shape", "mask"):
            value = config.get(key)
            kind = config.get(f"{key}_type")
            module = config.get("module" if key == "function" else f"{key}_module")
            if kind == "lambda" or (kind is None and _looks_like_code(value)):
                yield LAMBDA_CODE, None, f"{where} {key}: {describe_code(value)}"
            elif kind == "function" and isinstance(value, str):
                mod = module if isinstance(module, str) else None
                yield from self.function(mod, value, where)

    def function(self, module: str | None, name: str, where: str) -> Iterator[Judged]:
        ref = f"{module}.{name}" if module else name
        if module is None or module in _SCRIPT_MODULES:
            yield CUSTOM_OBJECT, None, f"{where}: function {ref} from the saving script"
        elif _under(module, KERAS_ROOTS):
            reason = KERAS_DANGEROUS_FUNCTIONS.get(name.rsplit(".", 1)[-1])
            if reason is not None:
                yield GADGET_FUNCTION, None, f"{where}: {ref} {reason}"
            elif _keras_family(module) not in KERAS_FUNCTION_FAMILIES:
                yield CUSTOM_OBJECT, None, f"{where}: unusual Keras function {ref}"
        elif _under(module, TF_ROOTS):
            problem = _tf_symbol_problem(f"{module}.{name}")
            if problem is not None:
                yield TF_OP, problem[0], f"{where}: {ref} {problem[1]}"
        else:
            judgement = self.policy.judge(module, name)
            if judgement.verdict in (Verdict.DANGEROUS, Verdict.INDIRECT):
                yield GADGET_FUNCTION, None, f"{where}: {ref} {judgement.reason}"
            elif judgement.verdict is not Verdict.ALLOWED and module != "builtins":
                yield FOREIGN_MODULE, None, f"{where}: function {ref} from module {module!r}"

    def module_object(self, module: str, cls: str, where: str) -> Iterator[Judged]:
        if _under(module, KERAS_ROOTS):
            return
        judgement = self.policy.judge(module, cls)
        if judgement.verdict in (Verdict.DANGEROUS, Verdict.INDIRECT):
            text = f"{where}: imports {module}.{cls}, which {judgement.reason}"
            yield FOREIGN_MODULE, Severity.CRITICAL, text
        elif judgement.verdict is not Verdict.ALLOWED:
            yield FOREIGN_MODULE, None, f"{where}: imports module {module!r} for {cls!r}"


def analyse_keras_config(
    doc: object, where: Location, ctx: ScanContext, source: str
) -> list[Finding]:
    """Findings for a parsed Keras config ``doc`` (``source`` names it in the evidence)."""
    settings = ctx.settings
    judge = _Judge(policy_for(settings))
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for n, (obj, owner) in enumerate(_objects(doc, ctx.limits.max_nesting)):
        if n % 1024 == 0:
            ctx.budget.check_time()
        for rule, severity, text in judge.judge(obj, owner):
            if (rule.id, text) not in seen:
                seen.add((rule.id, text))
                findings.append(rule.finding(where, f"{source}: {text}", severity=severity))
    return findings


def is_keras_config(doc: object) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("class_name"), str) and "config" in doc


def chat_template_findings(doc: object, where: Location, source: str) -> list[Finding]:
    """Findings for a Hugging Face ``chat_template`` (a string or a list of named ones)."""
    if not isinstance(doc, dict):
        return []
    value = doc.get("chat_template")
    templates: list[tuple[str, str]] = []
    if isinstance(value, str):
        templates.append(("chat_template", value))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and isinstance(item.get("template"), str):
                templates.append((f"chat_template[{item.get('name')!r}]", item["template"]))
    findings: list[Finding] = []
    for key, text in templates:
        findings.extend(template_findings(text, where, f"{source} {key}"))
    return findings


class KerasConfigScanner:
    """JSON documents: Keras configs and tokenizer configs; any other JSON is left alone."""

    name = "json"
    rules = RULES

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterable[Finding]:
        data = blob.view()
        try:
            doc = parse_json(data, ctx.limits, blob.name)
        except (MalformedInput, LimitExceeded):
            if _mentions(data, _MARKERS):
                raise  # it claims to be a config we analyse: unverifiable
            return []
        findings = chat_template_findings(doc, blob.location, blob.name)
        if is_keras_config(doc):
            findings.extend(analyse_keras_config(doc, blob.location, ctx, blob.name))
        return findings
