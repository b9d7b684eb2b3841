"""Findings from pickle streams: raw pickles, and every container that embeds one.

:func:`analyse_pickles` reads one or more pickles from a buffer (back to back, as legacy
PyTorch and sequential loaders read them), judges every import and call with the
:class:`PicklePolicy`, and turns format violations and limits into findings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mlwarden.findings import Finding, Rule, Severity
from mlwarden.scanners.base import Blob, LimitExceeded, ScanContext
from mlwarden.scanners.detect import STRICT_PICKLE_SUFFIXES
from mlwarden.scanners.model.joblib_layout import array_bytes_after_build
from mlwarden.scanners.model.pickle_policy import Judgement, PicklePolicy, Verdict, policy_for
from mlwarden.scanners.model.pickle_vm import (
    VALID_OPCODES,
    Blank,
    Call,
    Event,
    Global,
    PickleLimit,
    PickleMachine,
    Trace,
    describe_value,
)
from mlwarden.taxonomy import (
    CODE_EXECUTION_TAGS,
    CWE_CODE_INJECTION,
    CWE_IMPROPER_INPUT,
    CWE_RESOURCE_EXHAUSTION,
)

_FIX_DANGEROUS = (
    "Do not load this file. Obtain the model from a trusted source, or re-export it in a "
    "format that cannot carry code (safetensors, ONNX)."
)
_FIX_REVIEW = (
    "Do not load this file until you know why it needs this callable. If it is legitimate, "
    "add it to `scan.allow_globals` in your mlwarden configuration."
)

DANGEROUS = Rule(
    "MLW-PKL-001",
    "Pickle imports a dangerous callable",
    Severity.CRITICAL,
    _FIX_DANGEROUS,
    (*CODE_EXECUTION_TAGS, CWE_CODE_INJECTION),
    "Loading the file imports, and usually calls, a function that runs code, commands, "
    "or touches files, processes or the network.",
)
INDIRECT = Rule(
    "MLW-PKL-002",
    "Pickle reaches a callable indirectly",
    Severity.CRITICAL,
    _FIX_DANGEROUS,
    (*CODE_EXECUTION_TAGS, CWE_CODE_INJECTION),
    "The stream computes the name of what it imports, or walks attributes through modules "
    "or dunder names: a technique for hiding the real callable from scanners.",
)
OUTSIDE = Rule(
    "MLW-PKL-003",
    "Pickle imports a callable outside the allowlist",
    Severity.HIGH,
    _FIX_REVIEW,
    CODE_EXECUTION_TAGS,
    "The callable belongs to a library found on most machines but is not one that ML "
    "libraries pickle; denylist bypasses look like this.",
)
UNKNOWN = Rule(
    "MLW-PKL-004",
    "Pickle imports an unknown callable",
    Severity.MEDIUM,
    _FIX_REVIEW,
    CODE_EXECUTION_TAGS,
    "The callable comes from a module mlwarden does not know, often the author's own code. "
    "Loading runs it wherever that module is installed.",
)
COMPUTED_CALL = Rule(
    "MLW-PKL-005",
    "Pickle calls a computed callable",
    Severity.HIGH,
    _FIX_DANGEROUS,
    (*CODE_EXECUTION_TAGS, CWE_CODE_INJECTION),
    "The stream calls something that is not an imported name (for example the result of "
    "another call): the real target cannot be known without running it.",
)
MUTATES_GLOBAL = Rule(
    "MLW-PKL-006",
    "Pickle changes an imported object",
    Severity.HIGH,
    _FIX_DANGEROUS,
    (*CODE_EXECUTION_TAGS, CWE_CODE_INJECTION),
    "BUILD or item assignment applied to a class, function or module rewrites code that "
    "runs later (a known way to smuggle calls past scanners).",
)
EXTENSION = Rule(
    "MLW-PKL-007",
    "Pickle uses extension codes",
    Severity.HIGH,
    _FIX_REVIEW,
    CODE_EXECUTION_TAGS,
    "EXT opcodes import callables registered in copyreg's extension registry, which "
    "cannot be resolved from the file alone.",
)
MALFORMED = Rule(
    "MLW-PKL-008",
    "Malformed pickle stream",
    Severity.HIGH,
    "Do not load the file: the unpickler runs everything before the damaged point. "
    "Re-export it from its source.",
    (CWE_IMPROPER_INPUT,),
)
LIMIT = Rule(
    "MLW-PKL-009",
    "Pickle too large or deep to analyse completely",
    Severity.HIGH,
    "Treat the file as unverified. If it is trusted to be this large, raise the named "
    "limit in the configuration and scan again.",
    (CWE_RESOURCE_EXHAUSTION,),
)
NESTED_LOADER = Rule(
    "MLW-PKL-010",
    "Pickle embeds another serialised object",
    Severity.INFO,
    "Nothing to do if the nested object is clean; its own findings are listed separately.",
)
UNKNOWN_CALL = Rule(
    "MLW-PKL-013",
    "Pickle calls an unknown function at load time",
    Severity.HIGH,
    _FIX_REVIEW,
    CODE_EXECUTION_TAGS,
    "A function (not a class) from a module mlwarden does not know is called while loading. "
    "Custom classes are common in pickles; load-time calls of arbitrary functions are how "
    "gadgets from less common libraries are used.",
)
NOT_A_PICKLE = Rule(
    "MLW-PKL-011",
    "Looks like a pickle but does not parse as one",
    Severity.INFO,
    "Nothing to do unless a tool loads this file with pickle; then treat it as malformed.",
)
RULES: tuple[Rule, ...] = (
    NOT_A_PICKLE,
    UNKNOWN_CALL,
    DANGEROUS,
    INDIRECT,
    OUTSIDE,
    UNKNOWN,
    COMPUTED_CALL,
    MUTATES_GLOBAL,
    EXTENSION,
    MALFORMED,
    LIMIT,
    NESTED_LOADER,
)

IMPORT_RULES = frozenset({DANGEROUS.id, INDIRECT.id, OUTSIDE.id, UNKNOWN_CALL.id})
_VERDICT_RULES = {
    Verdict.DANGEROUS: DANGEROUS,
    Verdict.INDIRECT: INDIRECT,
    Verdict.OUTSIDE_ALLOWLIST: OUTSIDE,
    Verdict.UNKNOWN: UNKNOWN,
}
# Callables whose bytes argument is itself a serialised object that the loader deserialises:
# scanned as a nested blob instead of reported, when the bytes are in the stream.
_NESTED_BYTES_LOADERS = frozenset({"torch.storage._load_from_bytes"})
# Python pickles a bound method as getattr(instance, "name"). On an instance of an allowed
# class that only names one of its methods; calling the result is still reported
# (MLW-PKL-005), and getattr on a module, class or anything else stays critical.
_ATTRIBUTE_LOOKUPS = frozenset({"builtins.getattr"})


def _is_bound_method_lookup(args: object, policy: PicklePolicy) -> bool:
    if not (isinstance(args, tuple) and len(args) == 2):
        return False
    instance, name = args
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("__"):
        return False
    if not isinstance(instance, Call) or not isinstance(instance.callee, Global):
        return False
    callee = instance.callee
    return policy.judge(callee.module, callee.name).verdict is Verdict.ALLOWED


@dataclass
class _Use:
    """How one callable (or one anomaly) is used in a stream."""

    first: Event
    count: int = 0
    call: Event | None = None
    judgement: Judgement | None = None


def analyse_pickles(
    blob: Blob, ctx: ScanContext, start: int = 0, *, sequence: bool = True, strict: bool = True
) -> list[Finding]:
    """Findings for the pickle at ``start`` and, when ``sequence``, those right after it.

    With ``strict`` off (bytes that merely look like a pickle), a stream that fails to parse
    and imports nothing dangerous is reported as "not a pickle" rather than malformed.
    """
    data = blob.view()
    findings: list[Finding] = []
    pos = start
    for index in range(ctx.limits.max_pickles_per_stream):
        trace = _run(data, pos, ctx)
        lenient = trace.error is not None and (index > 0 or not strict)
        judged = _judge_trace(
            trace, blob, ctx, report_errors=not lenient, importable_only=not strict
        )
        if lenient:
            # Random bytes can decode as EXT or call opcodes; only imports of real, judged
            # callables count as evidence that these bytes are a pickle someone would load.
            flagged = [
                f for f in judged if f.rule_id in IMPORT_RULES and f.severity >= Severity.HIGH
            ]
            if index == 0 and not flagged:
                return [NOT_A_PICKLE.finding(blob.location.at(pos), str(trace.error))]
            # Bytes after a complete pickle that do not form one are data (legacy torch
            # storages follow their pickles): they matter only if they import something.
            findings.extend(flagged)
            break
        findings.extend(judged)
        if trace.error is not None or trace.limit is not None:
            break
        pos = trace.end
        if not sequence or pos >= len(data) or data[pos] not in VALID_OPCODES:
            break
    else:
        findings.append(
            LIMIT.finding(
                blob.location.at(pos),
                f"more than {ctx.limits.max_pickles_per_stream} pickles in one stream",
            )
        )
        ctx.incomplete.append(f"{blob.location}: pickles after the first {index + 1}")
    return findings


def _run(data: memoryview, pos: int, ctx: ScanContext) -> Trace:
    def hook(obj: Call, state: object, at: int) -> int | None:
        return array_bytes_after_build(obj, state, data, at)

    def tick() -> None:
        # The file's time budget ends this pickle like any other limit, keeping its findings.
        try:
            ctx.budget.check_time()
        except LimitExceeded as exc:
            raise PickleLimit(exc.what, int(exc.limit), pos) from None

    return PickleMachine(data, pos, ctx.limits, hook, tick).run()


def _iter_traces(trace: Trace) -> Iterator[Trace]:
    yield trace
    for nested in trace.nested:
        yield from _iter_traces(nested)


def _importable(module: str, name: str) -> bool:
    """Whether ``find_class`` could resolve the pair: dotted identifiers on both sides."""
    return all(p.isidentifier() for p in module.split(".")) and all(
        p.isidentifier() for p in name.split(".")
    )


def _judge_trace(
    trace: Trace,
    blob: Blob,
    ctx: ScanContext,
    *,
    report_errors: bool = True,
    importable_only: bool = False,
) -> list[Finding]:
    """Judge every import and call of ``trace``. With ``importable_only`` (text that merely
    parses as a protocol-0 pickle, such as ``cimport numpy as np`` read as GLOBAL), imports
    that no unpickler could resolve are not evidence of code and are skipped."""
    policy = policy_for(ctx.settings)
    uses: dict[tuple[str, str], _Use] = {}
    lookups: dict[str, tuple[Judgement, Event]] = {}
    benign_lookups: set[str] = set()
    nested_blobs: list[Blob] = []
    for t in _iter_traces(trace):
        for event in t.events:
            target = event.target
            if target is None or event.kind not in ("global", "call"):
                key = (event.kind, event.detail)
                uses.setdefault(key, _Use(event)).count += 1
                continue
            if importable_only and not _importable(target.module, target.name):
                continue
            judgement = policy.judge(target.module, target.name)
            if judgement.verdict is Verdict.ALLOWED:
                continue
            if judgement.dotted in _NESTED_BYTES_LOADERS:
                if event.kind == "global":
                    continue  # judged at the call, where its argument is known
                nested = _nested_blob(judgement, event, blob)
                if nested is not None:
                    nested_blobs.append(nested)
                    continue
            if judgement.dotted in _ATTRIBUTE_LOOKUPS:
                if event.kind == "global":
                    lookups.setdefault(judgement.dotted, (judgement, event))
                    continue
                if _is_bound_method_lookup(event.args, policy):
                    benign_lookups.add(judgement.dotted)
                    continue
            use = uses.setdefault(("callable", judgement.dotted), _Use(event, judgement=judgement))
            if event.kind == "call":
                use.count += 1
                use.call = use.call or event

    for dotted, (judgement, event) in lookups.items():
        # Imported only for bound-method lookups (judged call by call above) is fine;
        # imported and never called, it is reported like any other import.
        if dotted not in benign_lookups:
            uses.setdefault(("callable", dotted), _Use(event, judgement=judgement))
    findings = [f for key, use in uses.items() if (f := _finding(key, use, blob))]
    for nested in nested_blobs:
        findings.append(
            NESTED_LOADER.finding(
                nested.location, f"{nested.name}: {nested.size} bytes scanned as a nested file"
            )
        )
        findings.extend(ctx.scan_member(nested))
    if not report_errors:
        return findings
    if trace.error is not None:
        findings.append(MALFORMED.finding(blob.location.at(trace.error.offset), str(trace.error)))
        ctx.incomplete.append(f"{blob.location}: malformed pickle")
    if trace.limit is not None:
        limit = trace.limit
        findings.append(
            LIMIT.finding(
                blob.location.at(limit.offset),
                f"{limit.what} exceeded (limit {limit.limit}); raise limits in the configuration",
            )
        )
        ctx.incomplete.append(f"{blob.location}: {limit.what} limit")
    return findings


def _nested_blob(judgement: Judgement, event: Event, blob: Blob) -> Blob | None:
    args = event.args
    if not (isinstance(args, tuple) and len(args) == 1):
        return None
    payload = args[0]
    if isinstance(payload, bytes):
        data: bytes | memoryview = payload
    elif isinstance(payload, Blank) and payload.kind == "bytes":
        data = blob.view()[payload.offset : payload.offset + payload.length]
    else:
        return None
    location = blob.location.child(f"@{event.offset}:{judgement.dotted}")
    return Blob(data, location, f"{judgement.dotted} argument", blob.depth + 1)


def _finding(key: tuple[str, str], use: _Use, blob: Blob) -> Finding | None:
    judgement = use.judgement
    if judgement is not None:
        rule = _VERDICT_RULES[judgement.verdict]
        leaf = judgement.name.rsplit(".", 1)[-1]
        if rule is UNKNOWN and use.call is not None and not leaf.lstrip("_")[:1].isupper():
            rule = UNKNOWN_CALL  # classes are CapWords by convention; this is a function
        if use.call is not None:
            times = f" ({use.count} calls)" if use.count > 1 else ""
            how = f"is called with {_describe_args(use.call.args)}{times}"
            event = use.call
        else:
            how, event = "is imported", use.first
        return rule.finding(
            blob.location.at(event.offset),
            f"`{judgement.dotted}` {how}: {judgement.reason}",
            title=f"{rule.title}: {judgement.dotted}",
        )
    event = use.first
    where = blob.location.at(event.offset)
    times = f" ({use.count} times)" if use.count > 1 else ""
    kind, detail = key
    if kind == "computed-global":
        return INDIRECT.finding(where, f"STACK_GLOBAL with a computed name: {detail}{times}")
    if kind == "computed-call":
        return COMPUTED_CALL.finding(where, f"{detail}{times}")
    if kind == "build-on-global":
        target = event.target.dotted if event.target else "?"
        return MUTATES_GLOBAL.finding(where, f"{detail}: `{target}`{times}")
    if kind == "extension":
        return EXTENSION.finding(where, f"{detail}{times}")
    return None


def _describe_args(args: object) -> str:
    if isinstance(args, tuple):
        inner = ", ".join(_short(a) for a in args[:4])
        more = ", ..." if len(args) > 4 else ""
        return f"({inner}{more})"
    return _short(args)


def _short(value: object) -> str:
    if isinstance(value, str | bytes | int | float | bool) or value is None:
        text = repr(value)
        return text if len(text) <= 120 else text[:117] + "..."
    if isinstance(value, tuple):
        return _describe_args(value)
    return describe_value(value)


class PickleScanner:
    """Raw pickle files (protocols 0-5), including several pickles back to back."""

    name = "pickle"
    rules = RULES

    def scan(self, blob: Blob, ctx: ScanContext) -> Iterable[Finding]:
        # Files and members named like pickles are held to the format; other bytes that
        # merely start like one (tensor data, say) are only reported if they import code.
        strict = blob.name.lower().endswith(STRICT_PICKLE_SUFFIXES)
        return analyse_pickles(blob, ctx, strict=strict)
