"""ONNX models: read the protobuf structure, never the tensors, never external files.

An ONNX file carries no Python, but loading it can still reach outside the model: tensors
stored as *external data* name a file path that runtimes open (``../../etc/passwd`` reads
any file the process can), and operators from custom domains only run once a native
library implementing them is registered. ONNX Runtime builds with language interop also
run Python classes named by ``PyOp`` nodes. All three are found by walking the model,
every graph nested in node attributes, the training graphs and the model-local functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mlwarden.findings import Finding, Location, Rule, Severity
from mlwarden.scanners.base import Blob, MalformedInput, ScanContext
from mlwarden.scanners.model.protobuf_wire import LEN, VARINT, Message
from mlwarden.taxonomy import (
    ATLAS_MALICIOUS_MODEL,
    ATLAS_SUPPLY_CHAIN_MODEL,
    CWE_CODE_INJECTION,
    CWE_PATH_TRAVERSAL,
    CWE_UNTRUSTED_FUNCTIONALITY,
    OWASP_ML06_SUPPLY_CHAIN,
)

EXTERNAL_PATH = Rule(
    "MLW-ONNX-001",
    "External tensor data path escapes the model folder",
    Severity.HIGH,
    "Do not load this model: the runtime would read (or with some tools write) a file "
    "outside the model's folder. Re-export it with external data stored next to the model.",
    (CWE_PATH_TRAVERSAL, ATLAS_SUPPLY_CHAIN_MODEL, OWASP_ML06_SUPPLY_CHAIN),
    "A TensorProto with external data names its file in `location`; an absolute path, a "
    "`..` component or a symlink makes the loader open an arbitrary file.",
)
CUSTOM_DOMAIN = Rule(
    "MLW-ONNX-002",
    "Custom operator domain: the model needs a native library to run",
    Severity.MEDIUM,
    "Run the model only with operator libraries you trust, obtained from their publisher; "
    "the model file cannot show what that native code does.",
    (CWE_UNTRUSTED_FUNCTIONALITY, ATLAS_SUPPLY_CHAIN_MODEL),
    "Operators outside the ONNX and ONNX Runtime domains are implemented by shared "
    "libraries registered at load time (register_custom_ops_library).",
)
PYTHON_OP = Rule(
    "MLW-ONNX-003",
    "Operator runs Python code named by the model",
    Severity.HIGH,
    "Do not run this model with an ONNX Runtime build that enables Python operators; "
    "re-export it without PyOp/PythonOp nodes.",
    (ATLAS_MALICIOUS_MODEL, CWE_CODE_INJECTION, OWASP_ML06_SUPPLY_CHAIN),
    "ONNX Runtime's language-interop PyOp imports the module and class named in the node's "
    "attributes; com.microsoft PythonOp calls a registered torch.autograd.Function by name.",
)
RULES = (EXTERNAL_PATH, CUSTOM_DOMAIN, PYTHON_OP)

# Domains implemented by ONNX itself or built into ONNX Runtime.
_BUILTIN_DOMAINS = frozenset(
    {
        "",
        "ai.onnx",
        "ai.onnx.ml",
        "ai.onnx.training",
        "ai.onnx.preview.training",
        "com.microsoft",
        "com.microsoft.experimental",
        "com.microsoft.nchwc",
        "com.microsoft.dml",
        "com.ms.internal.nhwc",
        "org.pytorch.aten",
    }
)
_PYTHON_OPS = {("com.microsoft", "PythonOp"), ("com.microsoft", "PythonOpGrad")}
_MAX_PROTO_DEPTH = 100  # protobuf's own default recursion limit
_MAX_REPORTED = 20

# ModelProto's top-level fields and their wire types, for content sniffing.
_MODEL_FIELDS = {1: VARINT, 2: LEN, 3: LEN, 4: LEN, 5: VARINT, 6: LEN, 7: LEN, 8: LEN}
_MODEL_FIELDS.update({14: LEN, 20: LEN, 25: LEN, 26: LEN})


def looks_like_onnx(data: memoryview) -> bool:
    """True when ``data`` parses as a ModelProto: ``ir_version`` first, a graph, and
    nothing but ModelProto fields up to the last byte. Reads only the field keys."""
    if len(data) < 4 or data[0] != 0x08:
        return False
    try:
        fields = Message(data, max_depth=1).fields()
        first = next(fields)
        if not 1 <= first.value <= 64:
            return False
        graphs = 0
        for n, f in enumerate(fields):
            if n > 100_000 or _MODEL_FIELDS.get(f.number) != f.wire_type:
                return False
            graphs += f.number == 7
        return graphs == 1
    except (MalformedInput, StopIteration):
        return False


@dataclass
class _OpUse:
    count: int = 0
    example: str = ""


@dataclass
class _Walk:
    """What one pass over the model collected."""

    model_dir: Path | None
    ops: dict[tuple[str, str], _OpUse] = field(default_factory=dict)
    functions: set[tuple[str, str]] = field(default_factory=set)
    bad_locations: dict[str, list[str]] = field(default_factory=dict)
    python_ops: list[str] = field(default_factory=list)


def _model_dir(location: Location) -> Path | None:
    if location.member is not None or location.path == "-":
        return None  # inside an archive: only the path's own shape can be judged
    # The runtime joins locations to the folder the model was opened from (a symlinked
    # model file does not move it), and the OS then follows any symlink in between.
    return Path(location.path).parent.resolve()


_DRIVE = re.compile(r"^[A-Za-z]:")


def location_problem(location: str, model_dir: Path | None) -> str | None:
    """Why an external-data ``location`` is unsafe, or None when it stays in the folder."""
    if not location:
        return "the location is empty"
    if "\x00" in location:
        return "the location contains a NUL byte"
    norm = location.replace("\\", "/")
    if norm.startswith("/") or _DRIVE.match(norm):
        return "the location is an absolute path"
    if ".." in norm.split("/"):
        return "the location climbs out of the model folder with '..'"
    if model_dir is not None:
        target = (model_dir / norm).resolve()
        if not target.is_relative_to(model_dir):
            return f"the location resolves outside the model folder (to {target})"
    return None


class _OnnxWalker:
    def __init__(self, walk: _Walk) -> None:
        self.walk = walk

    def model(self, msg: Message) -> None:
        graphs = 0
        for f in msg.fields():
            if f.number == 7:
                graphs += 1
                self.graph(msg.sub(f))
            elif f.number == 20:  # TrainingInfoProto: initialization and algorithm graphs
                info = msg.sub(f)
                for g in info.fields():
                    if g.number in (1, 2):
                        self.graph(info.sub(g))
            elif f.number == 25:
                self.function(msg.sub(f))
        if not graphs:
            raise MalformedInput("the file has no ONNX graph (ModelProto field 7)")

    def graph(self, msg: Message) -> None:
        for f in msg.fields():
            if f.number == 1:
                self.node(msg.sub(f))
            elif f.number == 5:
                self.tensor(msg.sub(f))
            elif f.number == 15:
                self.sparse_tensor(msg.sub(f))

    def function(self, msg: Message) -> None:
        name = domain = ""
        for f in msg.fields():
            if f.number == 1:
                name = msg.text(f)
            elif f.number == 10:
                domain = msg.text(f)
            elif f.number == 7:
                self.node(msg.sub(f))
            elif f.number == 11:
                self.attribute(msg.sub(f))
        self.walk.functions.add((domain, name))

    def node(self, msg: Message) -> None:
        op_type = domain = name = ""
        strings: dict[str, str] = {}
        for f in msg.fields():
            if f.number == 4:
                op_type = msg.text(f)
            elif f.number == 7:
                domain = msg.text(f)
            elif f.number == 3:
                name = msg.text(f)
            elif f.number == 5:
                attr_name, value = self.attribute(msg.sub(f))
                if value is not None:
                    strings[attr_name] = value
        use = self.walk.ops.setdefault((domain, op_type), _OpUse())
        use.count += 1
        use.example = use.example or name
        if op_type == "PyOp" or (domain, op_type) in _PYTHON_OPS:
            detail = ", ".join(f"{k}={v!r}" for k, v in sorted(strings.items())[:6])
            self.walk.python_ops.append(
                f"node {name or '(unnamed)'}: {domain or 'ai.onnx'}::{op_type} ({detail})"
            )

    def attribute(self, msg: Message) -> tuple[str, str | None]:
        """Walk tensors and graphs inside an attribute; return its name and string value."""
        name, text = "", None
        for f in msg.fields():
            if f.number == 1:
                name = msg.text(f)
            elif f.number == 4:
                text = msg.text(f, limit=200)
            elif f.number in (5, 10):
                self.tensor(msg.sub(f))
            elif f.number in (6, 11):
                self.graph(msg.sub(f))
            elif f.number in (22, 23):
                self.sparse_tensor(msg.sub(f))
        return name, text

    def sparse_tensor(self, msg: Message) -> None:
        for f in msg.fields():
            if f.number in (1, 2):
                self.tensor(msg.sub(f))

    def tensor(self, msg: Message) -> None:
        name = ""
        locations: list[str] = []
        for f in msg.fields():
            if f.number == 8:
                name = msg.text(f)
            elif f.number == 13:  # StringStringEntryProto; raw_data (9) is never touched
                entry = msg.sub(f)
                key = value = ""
                for e in entry.fields():
                    if e.number == 1:
                        key = entry.text(e)
                    elif e.number == 2:
                        value = entry.text(e, limit=4096)
                if key == "location":
                    locations.append(value)
        # Checked whatever data_location says: readers differ on when they honour it.
        for location in locations:
            problem = location_problem(location, self.walk.model_dir)
            if problem is not None:
                self.walk.bad_locations.setdefault(f"{location!r}: {problem}", []).append(name)


def _findings(walk: _Walk, where: Location) -> list[Finding]:
    findings: list[Finding] = []
    for n, (what, tensors) in enumerate(sorted(walk.bad_locations.items())):
        if n == _MAX_REPORTED:
            findings.append(
                EXTERNAL_PATH.finding(where, f"{len(walk.bad_locations) - n} more locations")
            )
            break
        more = f" and {len(tensors) - 1} more" if len(tensors) > 1 else ""
        findings.append(
            EXTERNAL_PATH.finding(where, f"tensor {tensors[0]!r}{more} stores data at {what}")
        )
    for text in walk.python_ops[:_MAX_REPORTED]:
        findings.append(PYTHON_OP.finding(where, text))
    custom: dict[str, list[str]] = {}
    for (domain, op_type), use in sorted(walk.ops.items()):
        if domain in _BUILTIN_DOMAINS or (domain, op_type) in walk.functions:
            continue
        custom.setdefault(domain, []).append(f"{op_type} x{use.count}")
    for domain, ops in custom.items():
        listed = ", ".join(ops[:10]) + (f" (+{len(ops) - 10} more)" if len(ops) > 10 else "")
        findings.append(CUSTOM_DOMAIN.finding(where, f"domain {domain!r}: {listed}"))
    return findings


class OnnxScanner:
    name = "onnx"
    rules = RULES

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterable[Finding]:
        depth = min(ctx.limits.max_nesting, _MAX_PROTO_DEPTH)
        model = Message(blob.view(), max_depth=depth, budget=ctx.budget)
        walk = _Walk(_model_dir(blob.location))
        _OnnxWalker(walk).model(model)
        return _findings(walk, blob.location)
