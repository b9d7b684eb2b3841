"""TensorFlow SavedModel (``saved_model.pb``) and Keras ``keras_metadata.pb``.

A SavedModel is a graph of TensorFlow ops; it carries no Python, but ops run with the
serving process's rights, and a few of them reach outside the model: ``PyFunc`` calls back
into Python, ``WriteFile``/``ReadFile`` and dataset ops touch arbitrary paths, debug and
data-service ops send tensors to files or network endpoints. The graph, every function
in its library and the asset list are walked without loading anything. Keras metadata
stored alongside (JSON in protobuf strings) is analysed like any Keras config, since
``keras.models.load_model`` on the folder rebuilds Lambda layers from it.

Save/restore ops (``SaveV2``, ``RestoreV2``, ``MergeV2Checkpoints``) and vocabulary
initialisers are in every SavedModel and are deliberately not reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from mlwarden.findings import Finding, Location, Rule, Severity
from mlwarden.scanners.base import Blob, LimitExceeded, MalformedInput, ScanContext
from mlwarden.scanners.model.keras_config import (
    KERAS_RULES,
    analyse_keras_config,
    parse_json,
)
from mlwarden.scanners.model.onnx_format import location_problem
from mlwarden.scanners.model.protobuf_wire import Message
from mlwarden.taxonomy import (
    ATLAS_EXFILTRATION,
    ATLAS_MALICIOUS_MODEL,
    CWE_CODE_INJECTION,
    CWE_FILE_ACCESS,
    CWE_PATH_TRAVERSAL,
    OWASP_ML06_SUPPLY_CHAIN,
)

PYTHON_OP = Rule(
    "MLW-TF-001",
    "TensorFlow graph calls back into Python",
    Severity.HIGH,
    "Do not serve this model in a process that registers Python functions; re-export it "
    "without tf.py_function / tf.numpy_function.",
    (ATLAS_MALICIOUS_MODEL, CWE_CODE_INJECTION, OWASP_ML06_SUPPLY_CHAIN),
    "PyFunc ops call the Python function registered under their token in the loading "
    "process; the code is not in the file, but the graph decides when and with what data.",
)
WRITE_OP = Rule(
    "MLW-TF-002",
    "TensorFlow graph writes files or sends data to the network",
    Severity.HIGH,
    "Do not run this model; the listed ops write to paths or endpoints chosen by the graph "
    "or its inputs. Ask for a model without them.",
    (ATLAS_EXFILTRATION, ATLAS_MALICIOUS_MODEL, CWE_FILE_ACCESS),
)
READ_OP = Rule(
    "MLW-TF-003",
    "TensorFlow graph reads files",
    Severity.MEDIUM,
    "Check which paths the listed ops read; a served model should not read files "
    "outside its own assets.",
    (ATLAS_EXFILTRATION, CWE_FILE_ACCESS),
)
READ_ANY_FILE = Rule(
    "MLW-TF-005",
    "TensorFlow graph reads whole files named at run time",
    Severity.HIGH,
    "Do not serve this model: these ops return the contents of any path the graph or its "
    "inputs name (a way to exfiltrate secrets through predictions). Ask for a model "
    "without them.",
    (ATLAS_EXFILTRATION, ATLAS_MALICIOUS_MODEL, CWE_FILE_ACCESS),
)
ASSET_PATH = Rule(
    "MLW-TF-004",
    "SavedModel asset path escapes the model folder",
    Severity.HIGH,
    "Do not load this model: an asset (such as a vocabulary) would be read from outside "
    "its folder. Re-export the model.",
    (CWE_PATH_TRAVERSAL, ATLAS_MALICIOUS_MODEL),
)
RULES = (PYTHON_OP, WRITE_OP, READ_OP, READ_ANY_FILE, ASSET_PATH, *KERAS_RULES)

_PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})
_WRITE_OPS = frozenset(
    """WriteFile DatasetToTFRecord ExperimentalDatasetToTFRecord SaveDataset SaveDatasetV2
    SnapshotDataset SnapshotDatasetV2 SnapshotDatasetV3 CreateSummaryFileWriter
    CreateSummaryDbWriter DebugIdentity DebugIdentityV2 DebugIdentityV3 DebugNanCount
    DebugNumericSummary DataServiceDataset DataServiceDatasetV2 DataServiceDatasetV3
    DataServiceDatasetV4 RegisterDataset RegisterDatasetV2 GcsConfigureCredentials
    GcsConfigureBlockCache""".split()
)
# Ops that hand back the bytes or names of arbitrary files: exfiltration primitives.
_READ_ANY_OPS = frozenset(
    """ReadFile MatchingFiles MatchingFilesDataset ExperimentalMatchingFilesDataset
    WholeFileReader WholeFileReaderV2""".split()
)
_READ_OPS = _READ_ANY_OPS | frozenset(
    """ImmutableConst TFRecordDataset TFRecordDatasetV2 TextLineDataset FixedLengthRecordDataset
    FixedLengthRecordDatasetV2 LoadDataset LMDBDataset ExperimentalLMDBDataset SqlDataset
    ExperimentalSqlDataset WholeFileReader WholeFileReaderV2 TFRecordReader TFRecordReaderV2
    TextLineReader TextLineReaderV2 FixedLengthRecordReader FixedLengthRecordReaderV2
    LMDBReader LoadAndRemapMatrix""".split()
)
_MAX_PROTO_DEPTH = 100
_MAX_EXAMPLES = 3
_TEXT_OP = re.compile(rb'\bop:\s*"([A-Za-z0-9_]+)"')


@dataclass
class _Graph:
    """Ops found (op name -> node names) and Keras metadata documents."""

    ops: dict[str, list[str]] = field(default_factory=dict)
    print_files: list[str] = field(default_factory=list)
    assets: list[str] = field(default_factory=list)
    keras: list[tuple[str, bytes]] = field(default_factory=list)

    def add(self, op: str, node: str) -> None:
        if op in _PYTHON_OPS or op in _WRITE_OPS or op in _READ_OPS:
            self.ops.setdefault(op, []).append(node)


def _node(msg: Message, graph: _Graph) -> None:
    name = op = ""
    for f in msg.fields():
        if f.number == 1:
            name = msg.text(f, 512)
        elif f.number == 2:
            op = msg.text(f, 512)
        elif f.number == 5:  # attr map entry: key 1, AttrValue 2 (s = field 2)
            entry = msg.sub(f)
            key, value = "", ""
            for e in entry.fields():
                if e.number == 1:
                    key = entry.text(e, 256)
                elif e.number == 2:
                    attr = entry.sub(e)
                    for a in attr.fields():
                        if a.number == 2:
                            value = attr.text(a, 1024)
            if key == "output_stream" and value.startswith("file://"):
                graph.print_files.append(value)
    graph.add(op, name)


def _graph_def(msg: Message, graph: _Graph) -> None:
    for f in msg.fields():
        if f.number == 1:
            _node(msg.sub(f), graph)
        elif f.number == 2:  # FunctionDefLibrary
            library = msg.sub(f)
            for fn in library.fields():
                if fn.number == 1:
                    function = library.sub(fn)
                    for part in function.fields():
                        if part.number == 3:  # node_def
                            _node(function.sub(part), graph)


def _object_graph(msg: Message, graph: _Graph) -> None:
    # SavedObjectGraph.nodes -> SavedObject.user_object (4) -> SavedUserObject.metadata (3):
    # Keras models saved by TF 2.0-2.4 keep their config here.
    for f in msg.fields():
        if f.number != 1:
            continue
        node = msg.sub(f)
        for part in node.fields():
            if part.number == 4:
                user = node.sub(part)
                for u in user.fields():
                    if u.number == 3 and u.end > u.start:
                        graph.keras.append(
                            ("object graph metadata", bytes(user.buf[u.start : u.end]))
                        )


def _meta_graph(msg: Message, graph: _Graph) -> None:
    for f in msg.fields():
        if f.number == 2:
            _graph_def(msg.sub(f), graph)
        elif f.number == 6:  # AssetFileDef.filename (2)
            asset = msg.sub(f)
            for a in asset.fields():
                if a.number == 2:
                    graph.assets.append(asset.text(a, 4096))
        elif f.number == 7:
            _object_graph(msg.sub(f), graph)


def _saved_model(msg: Message, graph: _Graph) -> None:
    for f in msg.fields():
        if f.number == 2:
            _meta_graph(msg.sub(f), graph)


def _keras_metadata(msg: Message, graph: _Graph) -> None:
    # SavedMetadata.nodes (1) -> SavedObject.metadata (5), a JSON string.
    for f in msg.fields():
        if f.number == 1:
            node = msg.sub(f)
            for part in node.fields():
                if part.number == 5:
                    graph.keras.append(("keras metadata", bytes(node.buf[part.start : part.end])))


def _text_format(data: memoryview, graph: _Graph) -> None:
    """``saved_model.pbtxt``: text protobuf; op names are found by pattern."""
    for match in _TEXT_OP.finditer(bytes(data)):
        graph.add(match.group(1).decode("ascii"), "(text format)")


def _findings(graph: _Graph, where: Location, ctx: ScanContext) -> list[Finding]:
    findings: list[Finding] = []
    for op, nodes in sorted(graph.ops.items()):
        rule = (
            PYTHON_OP
            if op in _PYTHON_OPS
            else WRITE_OP
            if op in _WRITE_OPS
            else READ_ANY_FILE
            if op in _READ_ANY_OPS
            else READ_OP
        )
        names = ", ".join(repr(n) for n in nodes[:_MAX_EXAMPLES])
        more = f" (+{len(nodes) - _MAX_EXAMPLES} more)" if len(nodes) > _MAX_EXAMPLES else ""
        findings.append(rule.finding(where, f"op {op} in {len(nodes)} node(s): {names}{more}"))
    for target in graph.print_files[:_MAX_EXAMPLES]:
        findings.append(WRITE_OP.finding(where, f"PrintV2 writes to {target!r}"))
    for asset in graph.assets:
        problem = location_problem(asset, None)
        if problem is not None:
            findings.append(ASSET_PATH.finding(where, f"asset {asset!r}: {problem}"))
    seen: set[tuple[str, str]] = set()
    for source, text in graph.keras:
        try:
            doc = parse_json(text, ctx.limits, source)
        except MalformedInput:
            continue  # TF stores non-JSON metadata too; a loader would not read it as config
        if not isinstance(doc, dict):
            continue
        for finding in analyse_keras_config(doc, where, ctx, source):
            if (finding.rule_id, finding.evidence) not in seen:
                seen.add((finding.rule_id, finding.evidence))
                findings.append(finding)
    return findings


class SavedModelScanner:
    name = "tf-savedmodel"
    rules = RULES

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterable[Finding]:
        data = blob.view()
        graph = _Graph()
        name = blob.name.lower()
        if name.endswith(".pbtxt"):
            if blob.size > ctx.limits.max_metadata_bytes:
                raise LimitExceeded(
                    "text SavedModel size",
                    ctx.limits.max_metadata_bytes,
                    "convert the model to binary saved_model.pb",
                )
            _text_format(data, graph)
        else:
            depth = min(ctx.limits.max_nesting, _MAX_PROTO_DEPTH)
            msg = Message(data, max_depth=depth, budget=ctx.budget)
            if name.endswith("keras_metadata.pb"):
                _keras_metadata(msg, graph)
            else:
                _saved_model(msg, graph)
        return _findings(graph, blob.location, ctx)
