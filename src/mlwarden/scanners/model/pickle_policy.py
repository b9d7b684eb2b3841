"""Which callables a pickle may import: an allowlist first, a denylist to explain.

The verdict for ``module.name`` is, in order:

1. *allowed* when it is on the curated allowlist of what popular ML libraries legitimately
   pickle (or the user's configured extensions);
2. *dangerous* (critical) when it is a known code-execution, file, network, process or
   import primitive; the reason says which;
3. *indirect* (critical) when the name walks attributes through dunders or modules
   (``numpy.__builtins__``-style or ``torch.serialization.os.system``);
4. *outside allowlist* (high) when the module belongs to the standard library or a widely
   installed package: an attacker can only call code that exists on the victim's machine,
   so an unlisted callable from such a module is how denylist bypasses look;
5. *unknown* (medium) otherwise: a class from the user's own code is unusual but plausible.

Allowlist entries are chosen so that none can return a callable or reach the file system,
the network, the interpreter or another deserialiser.
"""

from __future__ import annotations

import enum
import sys
from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlwarden.scanners.base import ScanSettings


class Verdict(enum.Enum):
    ALLOWED = "allowed"
    DANGEROUS = "dangerous"
    INDIRECT = "indirect"
    OUTSIDE_ALLOWLIST = "outside-allowlist"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    module: str
    name: str
    reason: str

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.name}"


# ------------------------------------------------------------------ allowlist

_ALLOWED_EXACT: frozenset[str] = frozenset(
    {
        # Python data types and the reconstructors pickle itself emits.
        "builtins.set",
        "builtins.frozenset",
        "builtins.dict",
        "builtins.list",
        "builtins.tuple",
        "builtins.bytearray",
        "builtins.bytes",
        "builtins.str",
        "builtins.int",
        "builtins.float",
        "builtins.complex",
        "builtins.bool",
        "builtins.slice",
        "builtins.range",
        "builtins.object",
        "builtins.NotImplemented",
        "builtins.Ellipsis",
        "copyreg._reconstructor",
        "copyreg.__newobj__",
        "copyreg.__newobj_ex__",
        "_codecs.encode",
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.Counter",
        "collections.deque",
        "datetime.datetime",
        "datetime.date",
        "datetime.time",
        "datetime.timedelta",
        "datetime.timezone",
        "decimal.Decimal",
        "fractions.Fraction",
        "uuid.UUID",
        "re._compile",
        "functools.partial",
        "pathlib.PosixPath",
        "pathlib.WindowsPath",
        "pathlib.PurePosixPath",
        "pathlib.PureWindowsPath",
        "pathlib.Path",
        "zoneinfo.ZoneInfo",
        "ipaddress.IPv4Address",
        "ipaddress.IPv6Address",
        # Plain attribute containers that training checkpoints store their arguments in.
        "argparse.Namespace",
        "types.SimpleNamespace",
        "typing.Any",
        "typing.Union",
        "typing.Optional",
        "typing.List",
        "typing.Dict",
        "typing.Tuple",
        "typing.Set",
        "packaging.version.Version",
        "torch.torch_version.TorchVersion",
        # NumPy arrays, scalars, dtypes, random state.
        "numpy.ndarray",
        "numpy.dtype",
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct",
        "numpy.core.multiarray.scalar",
        "numpy._core.multiarray.scalar",
        "numpy.core.numeric._frombuffer",
        "numpy._core.numeric._frombuffer",
        "numpy.ma.core._mareconstruct",
        "numpy.ma.core.MaskedArray",
        "numpy.random._pickle.__randomstate_ctor",
        "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random._pickle.__generator_ctor",
        "numpy.random.mtrand.RandomState",
        "numpy.random._mt19937.MT19937",
        "numpy.random._pcg64.PCG64",
        "numpy.random._philox.Philox",
        "numpy.random._sfc64.SFC64",
        "numpy.random._generator.Generator",
        "numpy.random.bit_generator.SeedSequence",
        # PyTorch tensors, storages, parameters.
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_tensor_v3",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
        "torch._utils._rebuild_sparse_tensor",
        "torch._utils._rebuild_nested_tensor",
        "torch._utils._rebuild_meta_tensor_no_storage",
        "torch._utils._rebuild_wrapper_subclass",
        "torch._utils._rebuild_qtensor",
        "torch._utils._rebuild_device_tensor_from_numpy",
        "torch._utils._rebuild_device_tensor_from_cpu_tensor",
        "torch._utils._rebuild_buffer",
        "torch._tensor._rebuild_from_type",
        "torch._tensor._rebuild_from_type_v2",
        "torch.Tensor",
        "torch.serialization._get_layout",
        "torch.utils.hooks.RemovableHandle",
        "torch.nn.parallel.data_parallel.DataParallel",
        # TorchScript archives: list builders its C++ unpickler uses (no Python runs).
        "torch.jit._pickle.build_intlist",
        "torch.jit._pickle.build_doublelist",
        "torch.jit._pickle.build_boollist",
        "torch.jit._pickle.build_tensorlist",
        "torch.jit._pickle.build_tensor_from_id",
        "torch.jit._pickle.restore_type_tag",
        "torch.Size",
        "torch.device",
        "torch.storage.UntypedStorage",
        "torch.storage.TypedStorage",
        "torch.nn.parameter.Parameter",
        "torch.nn.parameter.Buffer",
        "torch.nn.parameter.UninitializedParameter",
        "torch.nn.parameter.UninitializedBuffer",
        "torch.contiguous_format",
        "torch.channels_last",
        "torch.channels_last_3d",
        "torch.preserve_format",
        "torch.strided",
        "torch.sparse_coo",
        "torch.sparse_csr",
        "torch.per_tensor_affine",
        "torch.per_channel_affine",
        "torch.per_channel_affine_float_qparams",
        # scikit-learn internals that are functions rather than classes.
        "sklearn.neighbors._kd_tree.newObj",
        "sklearn.neighbors._ball_tree.newObj",
        "sklearn.metrics._dist_metrics.newObj",
        "sklearn.utils._bunch.Bunch",
        # joblib's placeholders for arrays stored next to the pickle stream.
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "joblib.numpy_pickle.NDArrayWrapper",
        "joblib.numpy_pickle.ZNDArrayWrapper",
        "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
        "sklearn.externals.joblib.numpy_pickle.NDArrayWrapper",
        # pandas reconstructors.
        "pandas.core.indexes.base._new_Index",
        "pandas._libs.internals._unpickle_block",
        "pandas._libs.tslibs.timestamps._unpickle_timestamp",
        "pandas._libs.tslibs.timedeltas._timedelta_unpickle",
        "pandas._libs.tslibs.nattype.__nat_unpickle",
        "pandas._libs.arrays.__pyx_unpickle_NDArrayBacked",
        "pandas.core.internals.blocks.new_block",
        "pandas.core.internals.managers.BlockManager",
        "pandas.core.frame.DataFrame",
        "pandas.core.series.Series",
        "scipy.sparse._csr.csr_matrix",
        "scipy.sparse._csc.csc_matrix",
        "scipy.sparse._coo.coo_matrix",
        "scipy.sparse._csr.csr_array",
        "scipy.sparse._csc.csc_array",
        "scipy.sparse.csr.csr_matrix",
        "scipy.sparse.csc.csc_matrix",
    }
)

_TORCH_DTYPES = (
    "float16 float32 float64 bfloat16 half float double complex32 complex64 complex128 "
    "cfloat cdouble chalf uint8 uint16 uint32 uint64 int8 int16 int32 int64 short int long "
    "bool qint8 quint8 qint32 quint4x2 quint2x4 float8_e4m3fn float8_e5m2 float8_e4m3fnuz "
    "float8_e5m2fnuz float8_e8m0fnu float4_e2m1fn_x2 bits8 bits16 bits1x8 bits2x4 bits4x2 "
    "int1 int2 int3 int4 int5 int6 int7 uint1 uint2 uint3 uint4 uint5 uint6 uint7 "
    "per_channel_symmetric per_tensor_symmetric"
).split()
_TORCH_STORAGES = (
    "Float Double Half BFloat16 Long Int Short Char Byte Bool ComplexFloat ComplexDouble "
    "QInt8 QUInt8 QInt32 QUInt4x2 QUInt2x4"
).split()
_NUMPY_SCALARS = (
    "bool_ bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 intc uintc intp uintp "
    "longlong ulonglong float16 float32 float64 longdouble half single double complex64 "
    "complex128 clongdouble csingle cdouble str_ bytes_ void datetime64 timedelta64 "
    "object_ generic number integer floating complexfloating"
).split()
# Pure element-wise maths that estimators such as FunctionTransformer keep references to.
_NUMPY_MATH = (
    "abs absolute add subtract multiply divide true_divide floor_divide negative positive "
    "power float_power mod remainder fmod sign exp exp2 expm1 log log2 log10 log1p sqrt cbrt "
    "square reciprocal sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh arcsinh arccosh "
    "arctanh deg2rad rad2deg floor ceil trunc rint round around clip maximum minimum fmax fmin "
    "sum mean median std var min max amin amax prod cumsum cumprod argmax argmin nanmean "
    "nanmedian nanstd nanvar nansum nanmax nanmin isnan isinf isfinite logical_and logical_or "
    "logical_not logical_xor greater greater_equal less less_equal equal not_equal sort "
    "argsort unique percentile quantile nanpercentile nanquantile average dot matmul"
).split()

_TORCH_TENSOR_NAMESPACES = ("torch", "torch.cuda", "torch.sparse", "torch.cuda.sparse")
# Pure tensor maths that models keep as attributes (``self.act = torch.tanh``).
_TORCH_MATH = (
    "relu tanh sigmoid softmax log_softmax exp log sin cos abs clamp matmul add mul sub div sum "
    "mean max min sqrt rsqrt pow erf neg sign floor ceil round cat stack tensor zeros ones "
    "zeros_like ones_like full arange linspace randn rand normal flatten reshape transpose "
    "permute squeeze unsqueeze where maximum minimum logsumexp argmax argmin topk sort"
).split()

_ALLOWED = frozenset(
    _ALLOWED_EXACT
    | {f"torch.{d}" for d in _TORCH_DTYPES}
    | {f"torch.{s}Storage" for s in _TORCH_STORAGES}
    | {f"torch.cuda.{s}Storage" for s in _TORCH_STORAGES}
    | {f"{ns}.{s}Tensor" for s in _TORCH_STORAGES for ns in _TORCH_TENSOR_NAMESPACES}
    | {f"numpy.{s}" for s in _NUMPY_SCALARS}
    | {f"numpy.dtypes.{s}" for s in ("StringDType",)}
    | {f"numpy.{m}" for m in _NUMPY_MATH}
    | {f"numpy.core.umath.{m}" for m in _NUMPY_MATH}
    | {f"numpy._core.umath.{m}" for m in _NUMPY_MATH}
    | {f"torch.{m}" for m in _TORCH_MATH}
)

# Module trees whose *classes* (CapWords names) are data or model objects that are safe to
# construct and whose state is set with plain attribute assignment.
_CLASS_TREES: tuple[str, ...] = (
    "sklearn.",
    "scipy.",
    "torch.nn.modules.",
    "torch.optim.",
    "torch.ao.nn.",
    "numpy.dtypes",
    "pandas.core.",
    "pandas._libs.",
    "xgboost.core",
    "xgboost.sklearn",
    "lightgbm.basic",
    "lightgbm.sklearn",
    "catboost.core",
    "collections",
    "transformers.",
    "accelerate.utils.dataclasses",
    "tokenizers",
    "torchvision.models.",
    "torchvision.ops.",
    "torchvision.transforms.",
    "timm.models.",
    "timm.layers.",
    "omegaconf.",
    "pytorch_lightning.utilities.",
    "lightning.pytorch.utilities.",
    "lightning_fabric.utilities.",
    "peft.tuners.",
    "peft.utils.",
    "sentence_transformers.models.",
)
# Modules whose every callable is a pure function of its arguments (metrics, distributions,
# tensor functions), so a reference to any of them is data.
_FUNCTION_TREES: tuple[str, ...] = (
    "sklearn.",  # score functions, kernels, solvers kept as estimator parameters
    "scipy.stats.",
    "scipy.special",
    "scipy._lib.array_api_compat.",
    "sklearn.externals.array_api_compat.",
    "torch.nn.functional",
    "torch.nn.init",
)
# Function names that read, write or load files even inside otherwise pure trees (array
# API namespaces re-export numpy's I/O, for one).
_IO_FUNCTION_NAMES = frozenset(
    "load loads save savez savez_compressed savetxt loadtxt genfromtxt fromfile tofile "
    "memmap open fromregex".split()
)
# Cython's generated reconstructors (`__pyx_unpickle_<Class>`) in ML libraries only rebuild
# the extension type they are named after.
_CYTHON_RECONSTRUCTOR = "__pyx_unpickle_"
_CYTHON_PACKAGES = frozenset({"numpy", "scipy", "sklearn", "pandas", "xgboost", "lightgbm"})
# Classes under the trees above that do more than hold data.
_CLASS_TREE_EXCEPTIONS: tuple[str, ...] = (
    "sklearn.utils._testing",
    "sklearn.externals",
    "sklearn.utils.parallel",
    "sklearn.utils.fixes",
    "pandas.io.",
    "pandas._testing",
    "sklearn.datasets",  # fetchers download, loaders read files
    "sklearn.utils._show_versions",
    "sklearn.utils.estimator_checks",
    "scipy.io",
    "scipy._lib._testutils",
    # transformers classes that download, import remote code or run tools when built.
    "transformers.pipelines",
    "transformers.dynamic_module_utils",
    "transformers.utils.hub",
    "transformers.agents",
    "transformers.tools",
    "transformers.commands",
)

# ------------------------------------------------------------------ denylist

_DANGEROUS_MODULES: dict[str, str] = {
    "os": "operating-system access (commands, files, processes)",
    "posix": "operating-system access (commands, files, processes)",
    "nt": "operating-system access (commands, files, processes)",
    "subprocess": "runs external programs",
    "_posixsubprocess": "runs external programs",
    "pty": "spawns processes on a terminal",
    "commands": "runs shell commands",
    "popen2": "runs shell commands",
    "socket": "opens network connections",
    "_socket": "opens network connections",
    "ssl": "opens network connections",
    "shutil": "copies, moves and deletes files",
    "sys": "changes the interpreter (modules, hooks, paths)",
    "importlib": "imports arbitrary modules",
    "imp": "imports arbitrary modules",
    "zipimport": "imports code from archives",
    "pkgutil": "imports arbitrary modules",
    "runpy": "runs Python code",
    "code": "runs Python code (interactive interpreter)",
    "codeop": "compiles Python code",
    "ctypes": "calls native code",
    "_ctypes": "calls native code",
    "cffi": "calls native code",
    "marshal": "loads code objects",
    "types": "builds functions and code objects",
    "pickle": "nested deserialisation runs more pickle code",
    "_pickle": "nested deserialisation runs more pickle code",
    "cPickle": "nested deserialisation runs more pickle code",
    "pickletools": "inspects pickles",
    "shelve": "nested deserialisation",
    "dill": "nested deserialisation of code",
    "cloudpickle": "nested deserialisation of code",
    "joblib": "nested deserialisation",
    "webbrowser": "opens programs",
    "multiprocessing": "spawns processes",
    "concurrent": "runs callables in workers",
    "asyncio": "spawns processes and connections",
    "threading": "runs callables in threads",
    "_thread": "runs callables in threads",
    "signal": "changes signal handlers",
    "pdb": "runs Python code in the debugger",
    "bdb": "runs Python code in the debugger",
    "timeit": "runs Python code from strings",
    "cProfile": "runs Python code from strings",
    "profile": "runs Python code from strings",
    "trace": "runs Python code",
    "pydoc": "runs pagers and imports modules",
    "tempfile": "creates files",
    "glob": "lists files",
    "io": "opens files",
    "_io": "opens files",
    "fileinput": "opens files",
    "linecache": "reads files",
    "tarfile": "extracts archives to disk",
    "zipfile": "extracts archives to disk",
    "http": "opens network connections",
    "urllib": "opens network connections",
    "urllib2": "opens network connections",
    "urllib3": "opens network connections",
    "requests": "opens network connections",
    "httpx": "opens network connections",
    "aiohttp": "opens network connections",
    "ftplib": "opens network connections",
    "smtplib": "opens network connections",
    "telnetlib": "opens network connections",
    "xmlrpc": "opens network connections",
    "site": "changes import paths",
    "sysconfig": "reads interpreter configuration",
    "venv": "creates environments and runs programs",
    "ensurepip": "installs packages",
    "pip": "installs packages and runs programs",
    "setuptools": "builds and runs code",
    "distutils": "builds and runs code",
    "pkg_resources": "loads entry points",
    "IPython": "runs Python code and shell commands",
    "jinja2": "template code execution",
    "mako": "template code execution",
    "numexpr": "evaluates expressions from strings",
    "sympy": "evaluates expressions from strings",
    "pexpect": "runs external programs",
    "sh": "runs external programs",
    "plumbum": "runs external programs",
    "paramiko": "opens remote shells",
    "fabric": "runs remote commands",
    "invoke": "runs shell commands",
    "docker": "controls containers",
    "sqlite3": "opens databases on disk",
    "torch.hub": "downloads and runs code",
    "torch.package": "imports code packaged with the model",
    "torch.distributed": "opens network connections and spawns processes",
    "torch.multiprocessing": "spawns processes",
    "torch.utils.cpp_extension": "compiles and loads native code",
    "torch.utils.collect_env": "runs shell commands",
    "torch._inductor": "compiles and runs code",
    "torch._dynamo": "compiles and runs code",
    "torch.jit": "loads and compiles TorchScript code",
}

_DANGEROUS_EXACT: dict[str, str] = {
    "builtins.eval": "evaluates Python code",
    "builtins.exec": "executes Python code",
    "builtins.execfile": "executes a Python file",
    "builtins.compile": "compiles Python code",
    "builtins.open": "opens files",
    "builtins.file": "opens files",
    "builtins.__import__": "imports arbitrary modules",
    "builtins.getattr": "looks up arbitrary attributes (reaches any function)",
    "builtins.setattr": "rewrites attributes of objects and modules",
    "builtins.delattr": "deletes attributes of objects and modules",
    "builtins.globals": "reaches the interpreter's globals",
    "builtins.locals": "reaches the interpreter's locals",
    "builtins.vars": "reaches object namespaces",
    "builtins.input": "reads from the terminal",
    "builtins.breakpoint": "starts a debugger",
    "builtins.help": "starts the help pager",
    "builtins.exit": "stops the interpreter",
    "builtins.quit": "stops the interpreter",
    "builtins.apply": "calls arbitrary callables",
    "builtins.reload": "re-imports modules",
    "builtins.type": "creates classes dynamically",
    "builtins.memoryview": "exposes raw memory",
    "builtins.map": "calls a callable on each item",
    "builtins.filter": "calls a callable on each item",
    "builtins.classmethod": "wraps callables",
    "builtins.staticmethod": "wraps callables",
    "builtins.property": "wraps callables",
    "builtins.super": "reaches parent-class methods",
    "operator.attrgetter": "looks up arbitrary attributes (reaches any function)",
    "operator.methodcaller": "calls arbitrary methods",
    "operator.getitem": "reaches items of namespaces",
    "operator.call": "calls arbitrary callables",
    "functools.reduce": "calls a callable repeatedly",
    "functools.partialmethod": "wraps callables",
    "functools.singledispatch": "wraps callables",
    "itertools.starmap": "calls a callable on each item",
    "copyreg.add_extension": "registers extension codes for later imports",
    "copyreg.pickle": "registers reducers",
    "torch.load": "nested deserialisation runs more pickle code",
    "torch.serialization.load": "nested deserialisation runs more pickle code",
    "torch.storage._load_from_bytes": "nested deserialisation runs more pickle code",
    "torch.jit.load": "loads TorchScript code",
    "torch.hub.load": "downloads and runs code",
    "torch.utils.collect_env.run": "runs shell commands",
    "torch.utils.collect_env.run_and_read_all": "runs shell commands",
    "torch.utils.collect_env.run_and_parse_first_match": "runs shell commands",
    "torch.utils.collect_env.run_and_return_first_line": "runs shell commands",
    "torch.compile": "compiles and runs code",
    "torch.save": "writes files",
    "numpy.load": "loads files, with pickle when allowed",
    "numpy.loadtxt": "reads files",
    "numpy.genfromtxt": "reads files",
    "numpy.fromfile": "reads files",
    "numpy.save": "writes files",
    "numpy.savez": "writes files",
    "numpy.savetxt": "writes files",
    "numpy.memmap": "maps files",
    "numpy.frompyfunc": "wraps arbitrary callables",
    "numpy.vectorize": "wraps arbitrary callables",
    "numpy.testing._private.utils.runstring": "executes Python code",
    "numpy.f2py": "compiles and runs code",
    "pandas.read_pickle": "nested deserialisation runs more pickle code",
    "pandas.read_csv": "reads files and URLs",
    "pandas.eval": "evaluates expressions",
    "keras.models.load_model": "loads models that may contain code",
    "tensorflow.io.read_file": "reads files",
    "tensorflow.io.write_file": "writes files",
    "yaml.load": "constructs arbitrary Python objects",
    "yaml.unsafe_load": "constructs arbitrary Python objects",
}

# Attribute names that, reached through a dotted path, almost always mean code execution.
_DANGEROUS_LEAVES = frozenset(
    {
        "system",
        "popen",
        "Popen",
        "exec",
        "eval",
        "execv",
        "execve",
        "execl",
        "execlp",
        "execvp",
        "spawnv",
        "spawnl",
        "spawnve",
        "spawnlp",
        "posix_spawn",
        "fork",
        "run",
        "call",
        "check_call",
        "check_output",
        "getoutput",
        "getstatusoutput",
        "__import__",
        "import_module",
        "compile",
        "open",
        "load",
        "loads",
        "remove",
        "unlink",
        "rmtree",
        "getattr",
        "setattr",
        "__getattribute__",
        "__builtins__",
        "__globals__",
        "__subclasses__",
        "__code__",
        "__dict__",
    }
)

_POPULAR_PACKAGES = frozenset(
    """
    numpy scipy pandas sklearn torch torchvision torchaudio tensorflow keras jax jaxlib flax
    optax transformers huggingface_hub safetensors tokenizers datasets accelerate diffusers
    peft sentencepiece onnx onnxruntime xgboost lightgbm catboost statsmodels matplotlib
    seaborn PIL cv2 skimage nltk spacy gensim joblib dill cloudpickle pip setuptools
    pkg_resources distutils wheel IPython ipykernel jupyter jupyter_core notebook nbformat
    requests urllib3 httpx aiohttp certifi yaml jinja2 markupsafe boto3 botocore s3fs fsspec
    gcsfs google azure pyarrow mlflow wandb comet_ml neptune optuna hydra omegaconf pydantic
    attr attrs six typing_extensions packaging cryptography OpenSSL click typer rich tqdm
    fastapi starlette uvicorn flask django sqlalchemy psycopg2 redis celery ray dask
    distributed paramiko fabric invoke pexpect sh plumbum docker kubernetes numexpr sympy
    numba llvmlite cffi pytest _pytest py tensorboard tensorboardX lmdb h5py tables zmq
    gradio streamlit mako pytorch_lightning lightning timm einops triton sentence_transformers
    openai anthropic langchain llama_index tiktoken regex bs4 lxml werkzeug gunicorn
    pycparser mpmath networkx filelock psutil pexpect ptyprocess tornado websockets
    """.split()
)


@lru_cache(maxsize=65_536)
def _normalise(module: str, name: str) -> tuple[str, str]:
    """Apply the Python 2 → 3 renames the unpickler applies (``__builtin__`` → ``builtins``)."""
    if (module, name) in NAME_MAPPING:
        return NAME_MAPPING[(module, name)]
    return IMPORT_MAPPING.get(module, module), name


_TORCHSCRIPT = "__torch__"
# Module names that look like dunders but are ordinary: the script that pickled the object.
_PLAIN_DUNDER_MODULES = frozenset({"__main__", "__mp_main__"})


def _is_dunder(part: str) -> bool:
    return len(part) > 4 and part.startswith("__") and part.endswith("__")


def _is_known_module(module: str) -> bool:
    top = module.split(".", 1)[0]
    return top in sys.stdlib_module_names or top in _POPULAR_PACKAGES or top == "builtins"


def _dangerous_reason(module: str, name: str) -> str | None:
    path = module.split(".") + name.split(".")
    # Every prefix of module + attribute path: `os.system`, `torch.load`, `subprocess`.
    for i in range(len(path), 0, -1):
        prefix = ".".join(path[:i])
        if prefix in _DANGEROUS_EXACT:
            return _DANGEROUS_EXACT[prefix]
        if i <= len(module.split(".")) and prefix in _DANGEROUS_MODULES:
            return _DANGEROUS_MODULES[prefix]
    # A module reached as an attribute of another (`torch.serialization.os`).
    for part in name.split("."):
        if part in _DANGEROUS_MODULES and part not in ("types", "io", "trace", "code"):
            return f"reaches the `{part}` module: " + _DANGEROUS_MODULES[part]
    return None


def _in_tree(module: str, trees: tuple[str, ...]) -> bool:
    return any(module == t.rstrip(".") or module.startswith(t) for t in trees)


def _in_class_tree(module: str, name: str) -> bool:
    if "." in name or module.startswith(_CLASS_TREE_EXCEPTIONS):
        return False
    if name.startswith(_CYTHON_RECONSTRUCTOR):
        return module.split(".", 1)[0] in _CYTHON_PACKAGES
    if _in_tree(module, _FUNCTION_TREES) and name not in _IO_FUNCTION_NAMES:
        return True
    # Classes are CapWords by convention (``_PredictScorer`` included).
    return name.lstrip("_")[:1].isupper() and _in_tree(module, _CLASS_TREES)


class PicklePolicy:
    """Judges callables; extendable with user allow/deny entries (``module.name`` or
    ``module.*``)."""

    def __init__(
        self,
        extra_allowed: frozenset[str] = frozenset(),
        extra_denied: frozenset[str] = frozenset(),
    ) -> None:
        self._allowed_exact = {e for e in extra_allowed if not e.endswith(".*")}
        self._allowed_modules = tuple(e[:-2] for e in extra_allowed if e.endswith(".*"))
        self._denied_exact = {e for e in extra_denied if not e.endswith(".*")}
        self._denied_modules = tuple(e[:-2] for e in extra_denied if e.endswith(".*"))
        self._cache: dict[tuple[str, str], Judgement] = {}

    def judge(self, module: str, name: str) -> Judgement:
        key = (module, name)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._judge(module, name)
            self._cache[key] = cached
        return cached

    def _user_denied(self, module: str, dotted: str) -> bool:
        return dotted in self._denied_exact or any(
            module == m or module.startswith(m + ".") for m in self._denied_modules
        )

    def _user_allowed(self, module: str, dotted: str) -> bool:
        return dotted in self._allowed_exact or any(
            module == m or module.startswith(m + ".") for m in self._allowed_modules
        )

    def _judge(self, raw_module: str, raw_name: str) -> Judgement:
        module, name = _normalise(raw_module, raw_name)
        dotted = f"{module}.{name}"
        renamed = "" if (module, name) == (raw_module, raw_name) else f" ({raw_module}.{raw_name})"

        def verdict(v: Verdict, reason: str) -> Judgement:
            return Judgement(v, module, name, reason + renamed)

        if not module or not name:
            return verdict(Verdict.INDIRECT, "empty module or attribute name")
        if self._user_denied(module, dotted):
            return verdict(Verdict.DANGEROUS, "denied by your configuration")
        if dotted in _ALLOWED:
            return verdict(Verdict.ALLOWED, "on the allowlist")
        if module == _TORCHSCRIPT or module.startswith(_TORCHSCRIPT + "."):
            # Classes compiled into a TorchScript archive; Python cannot import this name.
            return verdict(Verdict.ALLOWED, "a TorchScript class of the archive itself")
        reason = _dangerous_reason(module, name)
        if reason is not None:
            return verdict(Verdict.DANGEROUS, reason)
        parts = [p for p in module.split(".") if p not in _PLAIN_DUNDER_MODULES] + name.split(".")
        if any(_is_dunder(p) for p in parts):
            return verdict(Verdict.INDIRECT, "reaches interpreter internals through a dunder name")
        if "." in name:
            leaf = name.rsplit(".", 1)[1]
            if leaf in _DANGEROUS_LEAVES:
                return verdict(Verdict.INDIRECT, f"walks attributes to `{leaf}`")
        if _in_class_tree(module, name):
            return verdict(Verdict.ALLOWED, "on the allowlist")
        if self._user_allowed(module, dotted):
            return verdict(Verdict.ALLOWED, "allowed by your configuration")
        if "." in name and _is_known_module(module):
            return verdict(Verdict.INDIRECT, "walks attributes of a library module")
        top = module.split(".", 1)[0]
        if top in _POPULAR_PACKAGES and name.lstrip("_")[:1].isupper():
            # Model and data classes of ML libraries are many and change between releases;
            # the gadgets that matter there are functions (and dangerous modules, above).
            return verdict(
                Verdict.UNKNOWN,
                f"a {top} class that is not on the allowlist; constructing it runs its code",
            )
        if _is_known_module(module):
            return verdict(
                Verdict.OUTSIDE_ALLOWLIST,
                "not a callable that ML libraries pickle; the module is installed on most "
                "machines, so loading would run it",
            )
        return verdict(
            Verdict.UNKNOWN,
            "from a module mlwarden does not know (often the author's own code); "
            "it runs only where that module is installed",
        )


@lru_cache(maxsize=16)
def _policy_for(allowed: frozenset[str], denied: frozenset[str]) -> PicklePolicy:
    return PicklePolicy(allowed, denied)


def policy_for(settings: ScanSettings) -> PicklePolicy:
    """The (cached) policy for these settings' allow and deny extensions."""
    return _policy_for(settings.extra_allowed_globals, settings.extra_denied_globals)
