"""The abstract pickle machine and its policy on hand-assembled streams, one behaviour each."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from corpus.pickle_asm import Asm

from mlwarden.engine import scan_blob
from mlwarden.findings import Finding, Location, Severity
from mlwarden.limits import Limits
from mlwarden.scanners.base import Blob, ScanSettings
from mlwarden.scanners.model.pickle_policy import PicklePolicy, Verdict


def scan_bytes(data: bytes, name: str = "model.pkl", **limits: int) -> list[Finding]:
    settings = ScanSettings(limits=replace(Limits(), **limits))
    findings, _status, _fmt = scan_blob(Blob(data, Location(name), name), settings)
    return findings


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}


def test_clean_data_pickle_has_no_findings() -> None:
    assert scan_bytes(bytes(Asm(4).push({"a": [1, 2.5, "x"], "b": (None, True)}).STOP())) == []


def test_stack_global_names_come_from_the_memo() -> None:
    stream = (
        Asm(4).SHORT_BINUNICODE("os").MEMOIZE().POP().SHORT_BINUNICODE("system").MEMOIZE().POP()
        .BINGET(0).BINGET(1).STACK_GLOBAL().push("true").TUPLE1().REDUCE().STOP()
    )  # fmt: skip
    found = scan_bytes(bytes(stream))
    assert "MLW-PKL-001" in rules(found)
    assert any("os.system" in f.evidence and "'true'" in f.evidence for f in found)


def test_computed_global_name_is_indirect() -> None:
    # The module name is the result of a call: no static reader can know it.
    stream = (
        Asm(4).call("builtins", "str", "o").push("system").STACK_GLOBAL()
        .push("x").TUPLE1().REDUCE().STOP()
    )  # fmt: skip
    found = scan_bytes(bytes(stream))
    assert "MLW-PKL-002" in rules(found)
    assert any(f.severity is Severity.CRITICAL for f in found)


def test_calling_the_result_of_a_call_is_reported() -> None:
    stream = Asm(4).call("builtins", "str", "x").push("y").TUPLE1().REDUCE().STOP()
    assert "MLW-PKL-005" in rules(scan_bytes(bytes(stream)))


def test_build_on_an_imported_class_is_reported() -> None:
    stream = (
        Asm(4).sglobal("collections", "OrderedDict").NONE().EMPTY_DICT()
        .push("__reduce__").push(1).SETITEM().TUPLE2().BUILD().STOP()
    )  # fmt: skip
    assert "MLW-PKL-006" in rules(scan_bytes(bytes(stream)))


def test_extension_codes_are_reported() -> None:
    assert "MLW-PKL-007" in rules(scan_bytes(bytes(Asm(2).EXT1(7).STOP())))


def test_python2_names_are_mapped_like_the_unpickler_maps_them() -> None:
    stream = Asm(0).GLOBAL("__builtin__", "eval").push("1").TUPLE1().REDUCE().STOP()
    found = scan_bytes(bytes(stream))
    assert any(f.rule_id == "MLW-PKL-001" and "builtins.eval" in f.title for f in found)


def test_payload_before_a_damaged_point_is_still_reported() -> None:
    stream = Asm(2).call("os", "system", "true").raw(b"\xff")
    found = scan_bytes(bytes(stream))
    assert {"MLW-PKL-001", "MLW-PKL-008"} <= rules(found)


def test_second_pickle_in_a_stream_is_analysed() -> None:
    first = Asm(4).push([1, 2]).STOP()
    second = Asm(4).call("subprocess", "run", "true").STOP()
    assert "MLW-PKL-001" in rules(scan_bytes(bytes(first) + bytes(second)))


def test_truncated_pickle_named_like_one_is_malformed_and_high() -> None:
    found = scan_bytes(bytes(Asm(4).push([1, 2, 3]))[:-1], "weights.pkl")
    assert "MLW-PKL-008" in rules(found)
    assert max(f.severity for f in found) >= Severity.HIGH


def test_binary_that_merely_starts_like_a_pickle_is_not_high() -> None:
    found = scan_bytes(b"\x80\x02" + bytes(range(256)) * 4, "blob.bin")
    assert all(f.severity < Severity.HIGH for f in found)


@pytest.mark.parametrize(
    ("limit", "stream"),
    [
        ({"max_opcodes": 50}, Asm(4).EMPTY_LIST().raw(b"K\x01a" * 100).STOP()),
        ({"max_memo": 10}, Asm(4).EMPTY_LIST().raw(b"\x94" * 20).STOP()),
        ({"max_nesting": 10}, Asm(4).raw(b"(" * 50).STOP()),
        ({"max_stack": 100}, Asm(4).raw(b"N" * 200).STOP()),
    ],
)
def test_limits_become_findings_not_crashes(limit: dict[str, int], stream: Asm) -> None:
    found = scan_bytes(bytes(stream), **limit)
    assert "MLW-PKL-009" in rules(found)


def test_unknown_class_is_medium_and_user_allowlist_clears_it() -> None:
    stream = bytes(Asm(4).sglobal("acme_models", "Net").EMPTY_TUPLE().NEWOBJ().STOP())
    found = scan_bytes(stream)
    assert [(f.rule_id, f.severity) for f in found] == [("MLW-PKL-004", Severity.MEDIUM)]
    settings = ScanSettings(extra_allowed_globals=frozenset({"acme_models.*"}))
    findings, _, _ = scan_blob(Blob(stream, Location("m.pkl"), "m.pkl"), settings)
    assert findings == []


def test_user_denylist_makes_a_callable_critical() -> None:
    policy = PicklePolicy(extra_denied=frozenset({"numpy.log1p"}))
    assert policy.judge("numpy", "log1p").verdict is Verdict.DANGEROUS


@pytest.mark.parametrize(
    ("module", "name", "verdict"),
    [
        ("os", "system", Verdict.DANGEROUS),
        ("torch.utils.collect_env", "run", Verdict.DANGEROUS),
        ("multiprocessing.util", "spawnv_passfds", Verdict.DANGEROUS),
        ("numpy", "__builtins__.exec", Verdict.INDIRECT),
        ("torch", "serialization.os.system", Verdict.DANGEROUS),
        ("logging.config", "dictConfig", Verdict.OUTSIDE_ALLOWLIST),
        ("acme", "Model", Verdict.UNKNOWN),
        ("__main__", "Net", Verdict.UNKNOWN),
        ("sklearn.ensemble._forest", "RandomForestClassifier", Verdict.ALLOWED),
        ("numpy.core.multiarray", "_reconstruct", Verdict.ALLOWED),
    ],
)
def test_policy_verdicts(module: str, name: str, verdict: Verdict) -> None:
    assert PicklePolicy().judge(module, name).verdict is verdict


def test_everything_torch_weights_only_allows_is_allowed() -> None:
    # torch's own restricted unpickler knows what torch legitimately pickles.
    weights_only = pytest.importorskip("torch._weights_only_unpickler")
    policy = PicklePolicy()
    refused = [
        name
        for name in weights_only._get_allowed_globals()
        if policy.judge(*name.rsplit(".", 1)).verdict is not Verdict.ALLOWED
    ]
    assert refused == []


def test_joblib_arrays_are_skipped_exactly(tmp_path: Path) -> None:
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    path = tmp_path / "arrays.joblib"
    arrays = {
        "f": np.arange(1000, dtype="f4"),
        "s": np.array(["a", "bc"]),
        "o": np.array([1, "x"], dtype=object),
    }
    joblib.dump(arrays, path)
    assert scan_bytes(path.read_bytes(), "arrays.joblib") == []


def test_long_text_arguments_do_not_hide_what_follows() -> None:
    # CPython reads text opcodes of any length; a 2 MB line must not end the analysis.
    stream = b"(V" + b"a" * 2_000_000 + b"\np0\n0cos\nsystem\n(Vtrue\ntR."
    assert "MLW-PKL-001" in rules(scan_bytes(stream, "weights.bin"))


def test_headerless_protocol_0_pickle_without_a_known_name_is_analysed() -> None:
    stream = bytes(Asm(0).GLOBAL("subprocess", "call").push("true").TUPLE1().REDUCE().STOP())
    assert "MLW-PKL-001" in rules(scan_bytes(stream, "payload"))


def test_ordinary_text_that_starts_like_a_pickle_is_not_flagged() -> None:
    found = scan_bytes(b"(this is a note)\nclass Foo:\n    pass\n", "notes")
    assert found == []


@pytest.mark.parametrize(
    "text",
    [
        b"cimport numpy as cnp\n\ncdef class Sentinel:\n    pass\n",  # Cython: GLOBAL 'cimport ...'
        b"cdef extern from 'x.h':\n    int f()\n",
        b"c\n\nplain words\n",
    ],
)
def test_text_read_as_a_global_of_no_importable_name_is_not_flagged(text: bytes) -> None:
    assert scan_bytes(text, "module.pxd") == []


def test_protocol_0_pickle_in_a_text_file_is_still_flagged() -> None:
    stream = b"cos\nsystem\n(S'touch /tmp/x'\ntR."
    found = scan_bytes(stream, "notes.txt")
    assert any(f.severity >= Severity.HIGH for f in found)


def test_load_time_call_of_an_unknown_function_is_high() -> None:
    stream = bytes(Asm(4).call("fancy_cli_lib.runner", "run_command", "true").STOP())
    found = scan_bytes(stream)
    assert [(f.rule_id, f.severity) for f in found] == [("MLW-PKL-013", Severity.HIGH)]


@pytest.mark.parametrize(
    ("module", "name", "verdict"),
    [
        # Classes of ML libraries outside the allowlist are unusual, not gadgets...
        ("gensim.models.word2vec", "Word2Vec", Verdict.UNKNOWN),
        ("transformers.training_args", "TrainingArguments", Verdict.ALLOWED),
        ("argparse", "Namespace", Verdict.ALLOWED),
        # ...while standard-library classes and ML-library functions stay high or worse.
        ("logging", "FileHandler", Verdict.OUTSIDE_ALLOWLIST),
        ("torch.utils.data.datapipes.utils.decoder", "basichandlers", Verdict.OUTSIDE_ALLOWLIST),
        ("torch", "save", Verdict.DANGEROUS),
    ],
)
def test_library_classes_and_functions(module: str, name: str, verdict: Verdict) -> None:
    assert PicklePolicy().judge(module, name).verdict is verdict


def test_torchscript_class_namespace_is_not_an_import() -> None:
    policy = PicklePolicy()
    assert policy.judge("__torch__.torch.nn.modules.linear", "Linear").verdict is Verdict.ALLOWED
    assert policy.judge("torch.jit._pickle", "build_intlist").verdict is Verdict.ALLOWED
    # ...but TorchScript loading entry points stay dangerous.
    assert policy.judge("torch.jit", "load").verdict is Verdict.DANGEROUS


def _bound_method_stream(name: str, *, call: bool) -> bytes:
    asm = (
        Asm(4).sglobal("builtins", "getattr")
        .sglobal("collections", "OrderedDict").EMPTY_TUPLE().REDUCE()
        .push(name).TUPLE2().REDUCE()
    )  # fmt: skip
    if call:
        asm = asm.EMPTY_TUPLE().REDUCE()
    return bytes(asm.STOP())


def test_bound_method_of_an_allowed_object_is_data() -> None:
    # Lazy torch modules pickle their hooks this way: getattr(instance, "method").
    assert scan_bytes(_bound_method_stream("_infer_parameters", call=False)) == []


def test_calling_a_looked_up_method_or_reaching_dunders_is_reported() -> None:
    assert "MLW-PKL-005" in rules(scan_bytes(_bound_method_stream("popitem", call=True)))
    assert "MLW-PKL-001" in rules(scan_bytes(_bound_method_stream("__class__", call=False)))


def test_getattr_on_a_module_stays_critical() -> None:
    stream = (
        Asm(4).sglobal("builtins", "getattr").sglobal("builtins", "object")
        .push("__subclasses__").TUPLE2().REDUCE().STOP()
    )  # fmt: skip
    found = scan_bytes(bytes(stream))
    assert any(f.rule_id == "MLW-PKL-001" and f.severity is Severity.CRITICAL for f in found)


def test_idl_save_file_named_sav_is_not_a_malformed_pickle() -> None:
    idl = b"SR\x00\x04\x00\x00\x00\x0a" + bytes(range(64)) * 4  # scipy.io.readsav format
    assert [f.severity for f in scan_bytes(idl, "spectrum.sav")] == [Severity.INFO]
