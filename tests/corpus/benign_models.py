"""Benign files: real objects saved by the libraries that normally write them.

They exercise everything an honest ML pickle references (numpy reconstructors, sklearn
classes, torch rebuild helpers, ``_codecs.encode`` for bytes at protocol 2, ...), so a
scanner that flags them at high severity has a false positive.
"""

from __future__ import annotations

import collections
import datetime
import decimal
import io
import pickle
import sys
import types
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

from .sample import Sample


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4))
    x[:, 3] = rng.integers(0, 3, size=120)  # a categorical column for the encoder
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    return x, y


def _sklearn_models() -> dict[str, Any]:
    x, y = _data()
    pipe = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("num", StandardScaler(), [0, 1, 2]),
                        ("cat", OneHotEncoder(handle_unknown="ignore"), [3]),
                    ]
                ),
            ),
            ("clf", LogisticRegression(max_iter=200)),
        ]
    )
    models: dict[str, Any] = {
        "logreg": LogisticRegression(max_iter=200),
        "random_forest": RandomForestClassifier(n_estimators=8, max_depth=4, random_state=0),
        "gradient_boosting": GradientBoostingClassifier(n_estimators=10, random_state=0),
        "svc": SVC(),
        "kmeans": KMeans(n_clusters=3, n_init=2, random_state=0),
        "pipeline": pipe,
        "mlp": MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for model in models.values():
            model.fit(x, y)
    return models


def _plain_data() -> dict[str, Any]:
    """Builtin and stdlib values only (no namedtuple: it would need its defining module)."""
    return {
        "ints": [1, -2, 2**70],
        "floats": (0.5, float("inf")),
        "complex": 1 + 2j,
        "set": {1, 2, 3},
        "frozenset": frozenset({"a", "b"}),
        "bytes": b"\x00\x01binary",
        "bytearray": bytearray(b"mutable"),
        "datetime": datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.UTC),
        "date": datetime.date(2024, 5, 1),
        "decimal": decimal.Decimal("3.14159"),
        "counter": collections.Counter("abracadabra"),
        "ordered": collections.OrderedDict([("b", 1), ("a", 2)]),
        "defaultdict": collections.defaultdict(list, {"k": [1, 2]}),
        "none": None,
        "nested": {"a": [{"b": (1, 2)}]},
    }


def _tricky_strings() -> dict[str, Any]:
    # Dangerous-looking text stored as *data*: only strings, no globals at all.
    return {
        "notes": "never call os.system or subprocess.Popen on user input",
        "snippet": "__import__('os').system('rm -rf /')",
        "names": ["builtins", "exec", "eval", "posix", "system", "__reduce__"],
        "cmd": "touch /tmp/pwned",
    }


def _torch_module() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 6 * 6, 10),
    )


def _optimizer_state(model: torch.nn.Module) -> dict[str, Any]:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(2, 3, 8, 8)).sum().backward()
    opt.step()
    return opt.state_dict()


def _dtype_tensors() -> dict[str, torch.Tensor]:
    return {
        "f16": torch.arange(6, dtype=torch.float16),
        "bf16": torch.arange(6, dtype=torch.bfloat16),
        "i8": torch.arange(-3, 3, dtype=torch.int8),
        "bool": torch.tensor([True, False, True]),
        "i64": torch.arange(4),
        "view": torch.arange(12.0).reshape(3, 4)[:, 1],  # a strided view into shared storage
    }


def _special_tensors() -> dict[str, Any]:
    # Each takes a different torch._utils rebuild helper than plain dense tensors do.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # quantized creation is deprecated
        q = torch.quantize_per_tensor(torch.tensor([0.5, 1.0, 1.5]), 0.1, 0, torch.quint8)
    sparse = torch.tensor([[0.0, 2.0], [3.0, 0.0]]).to_sparse()
    return {"quantized": q, "sparse": sparse, "param": torch.nn.Parameter(torch.ones(2))}


def _unknown_class_pickle() -> bytes:
    """A pickle of a class from ``mlwarden_corpus_custom``, a module no victim has."""
    mod = types.ModuleType("mlwarden_corpus_custom")

    class TinyModel:
        def __init__(self) -> None:
            self.weights = [0.1, 0.2]
            self.name = "tiny"

    TinyModel.__module__ = mod.__name__
    TinyModel.__qualname__ = "TinyModel"
    mod.TinyModel = TinyModel  # type: ignore[attr-defined]
    sys.modules[mod.__name__] = mod  # only while dumping: pickle checks the name resolves
    try:
        return pickle.dumps(TinyModel(), protocol=4)
    finally:
        del sys.modules[mod.__name__]


def _pickle(obj: Any, protocol: int) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(pickle.dumps(obj, protocol=protocol))

    return write


def _joblib(obj: Any, compress: Any) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        joblib.dump(obj, path, compress=compress)

    return write


def _torch(obj: Any, **kw: Any) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        torch.save(obj, path, **kw)

    return write


def _torchscript(module: Any) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        torch.jit.save(module, str(path))

    return write


class _ScriptedNet(torch.nn.Module):
    """A module compiled with torch.jit.script (its source must live in a file)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(x)).sum(dim=1)


def _raw(data: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(data)

    return write


def _npy(arr: np.ndarray, allow_pickle: bool = False) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        np.save(path, arr, allow_pickle=allow_pickle)

    return write


Writer = Callable[[Path], None]
# The victim loader follows from the extension for every benign file.
_LOADER_BY_SUFFIX = {
    ".pkl": "pickle", ".joblib": "joblib", ".npy": "numpy", ".npz": "numpy-npz",
    ".pt": "torch", ".pth": "torch",
}  # fmt: skip


def _specs() -> list[tuple[str, str, Writer, tuple[str, ...]]]:
    """(file name, technique, writer, tags)."""
    m = _sklearn_models()
    net = _torch_module()
    optim = _optimizer_state(net)
    rng = np.random.default_rng(1)
    specs: list[tuple[str, str, Writer, tuple[str, ...]]] = []

    def add(fname: str, technique: str, write: Writer, *tags: str) -> None:
        specs.append((fname, technique, write, tags))

    for name, proto in [
        ("logreg", 2), ("random_forest", 3), ("gradient_boosting", 4), ("svc", 5),
        ("kmeans", 4), ("pipeline", 5), ("mlp", 4),
    ]:  # fmt: skip
        add(f"sklearn_{name}_p{proto}.pkl", f"sklearn:{name} pickle p{proto}",
            _pickle(m[name], proto), "sklearn")  # fmt: skip
    for name, comp, label in [
        ("logreg", 0, "plain"), ("pipeline", ("zlib", 3), "zlib"),
        ("random_forest", ("gzip", 3), "gzip"), ("svc", ("bz2", 3), "bz2"),
        ("kmeans", ("lzma", 3), "lzma"), ("gradient_boosting", 3, "compress3"),
    ]:  # fmt: skip
        add(f"sklearn_{name}_{label}.joblib", f"sklearn:{name} joblib {label}",
            _joblib(m[name], comp), "sklearn", "joblib")  # fmt: skip
    arrays = {"w": rng.normal(size=(64, 64)), "idx": np.arange(100)}
    add("joblib_arrays.joblib", "joblib:dict of numpy arrays", _joblib(arrays, 0), "joblib")

    f32 = rng.normal(size=(32, 16)).astype(np.float32)
    add("numpy_float32.npy", "numpy:np.save float32", _npy(f32), "numpy")
    fortran = np.asfortranarray(np.arange(60).reshape(6, 10))
    add("numpy_int64_fortran.npy", "numpy:np.save int64 fortran order", _npy(fortran), "numpy")
    rec = np.zeros(4, dtype=[("id", "<i4"), ("score", "<f8"), ("tag", "S8")])
    add("numpy_structured.npy", "numpy:np.save structured dtype", _npy(rec), "numpy")
    objs = np.array(["cat", "dog", None, 3], dtype=object)
    add("numpy_object_strings.npy", "numpy:object array of plain values",
        _npy(objs, allow_pickle=True), "numpy", "numpy-object")  # fmt: skip
    add("numpy_arrays.npz", "numpy:np.savez",
        lambda p: np.savez(p, a=np.ones(5), b=np.arange(3)), "numpy")  # fmt: skip
    add("numpy_arrays_compressed.npz", "numpy:np.savez_compressed",
        lambda p: np.savez_compressed(p, a=np.zeros((8, 8)), m=np.ones(8, dtype=bool)),
        "numpy")  # fmt: skip
    scalars = {"a": np.arange(4.0), "s": np.float64(2.5), "i": np.int32(7), "dt": np.dtype("<f4")}
    add("numpy_in_pickle.pkl", "numpy:arrays and scalars inside a pickle",
        _pickle(scalars, 4), "numpy")  # fmt: skip

    add("torch_state_dict.pt", "torch:state_dict", _torch(net.state_dict()), "torch-zip")
    add("torch_full_module.pt", "torch:full nn.Module (Sequential)", _torch(net), "torch-zip")
    add("torch_legacy_state_dict.pt", "torch:legacy (non-zip) state_dict",
        _torch(net.state_dict(), _use_new_zipfile_serialization=False), "torch-legacy")  # fmt: skip
    add("torch_optimizer.pt", "torch:optimizer state_dict", _torch(optim), "torch-zip")
    add("torch_dtypes.pt", "torch:tensors of several dtypes", _torch(_dtype_tensors()), "torch-zip")
    add("torch_special_tensors.pt", "torch:quantized and sparse tensors",
        _torch(_special_tensors()), "torch-zip")  # fmt: skip
    add("torch_single_tensor.pt", "torch:a bare tensor", _torch(torch.eye(3)), "torch-zip")
    add("torchscript_traced.pt", "torch:TorchScript archive from torch.jit.trace",
        _torchscript(torch.jit.trace(net, torch.randn(1, 3, 8, 8))), "torch-zip")  # fmt: skip
    add("torchscript_scripted.pt", "torch:TorchScript archive from torch.jit.script",
        _torchscript(torch.jit.script(_ScriptedNet())), "torch-zip")  # fmt: skip
    add("torch_state_dict_p4.pt", "torch:state_dict with pickle_protocol=4",
        _torch(net.state_dict(), pickle_protocol=4), "torch-zip")  # fmt: skip
    ckpt = {"epoch": 3, "model": net.state_dict(), "optimizer": optim,
            "config": {"lr": 1e-3, "layers": [3, 4, 10]}, "scaler": m["pipeline"][0]}  # fmt: skip
    add("torch_checkpoint.pth", "torch:training checkpoint with an sklearn transformer",
        _torch(ckpt), "torch-zip")  # fmt: skip

    data = _plain_data()
    for proto in range(6):
        add(f"plain_data_p{proto}.pkl", f"data:builtin/stdlib values p{proto}",
            _pickle(data, proto), "plain-data")  # fmt: skip
    add("plain_bytes_p2.pkl", "data:bytes at protocol 2 (_codecs.encode)",
        _pickle([b"\x00\xff" * 8, b"abc"], 2), "plain-data")  # fmt: skip
    cyclic: list[Any] = [{"name": "node"}]
    cyclic.append(cyclic)
    cyclic[0]["self"] = cyclic[0]
    add("plain_cyclic.pkl", "data:self-referencing containers", _pickle(cyclic, 4), "plain-data")
    deep: list[Any] = []
    for _ in range(400):
        deep = [deep]
    add("plain_deep_nesting.pkl", "data:lists nested 400 deep", _pickle(deep, 4), "plain-data")
    add("tricky_strings.pkl", "data:dangerous-looking strings as data",
        _pickle(_tricky_strings(), 4), "plain-data", "tricky-strings")  # fmt: skip
    add("unknown_class.pkl", "data:object of a class from a missing module",
        _raw(_unknown_class_pickle()), "unknown-class")  # fmt: skip
    return specs


def build_benign(out_dir: Path) -> list[Sample]:
    samples = []
    for fname, technique, write, tags in _specs():
        path = out_dir / fname
        write(path)
        loader = _LOADER_BY_SUFFIX[path.suffix]
        samples.append(
            Sample(path.stem, path, "benign", technique, "", (*tags, f"loader:{loader}"))
        )
    return samples


def build_large_checkpoint(path: Path, size_mb: int) -> Path:
    """A benign torch zip state_dict of about ``size_mb`` MiB of tensor data.

    ``torch.save`` needs every tensor alive at once, so instead this writes the same
    archive with torch's own zip writer, one ~64 MiB tensor at a time: ``data.pkl`` is
    pickled from placeholders that produce exactly what torch.save would emit.
    """
    from torch.serialization import _get_storage_alignment, _open_zipfile_writer

    chunk = 64 * 2**20 // 4  # float32 elements per full tensor
    total = max(1, size_mb * 2**20 // 4)
    sizes = [chunk] * (total // chunk) + ([total % chunk] if total % chunk else [])
    rows = 1024
    shapes = [(rows, n // rows) if n % rows == 0 else (n,) for n in sizes]
    entries = collections.OrderedDict(
        (f"layers.{i}.weight", _TensorStub(str(i), shape)) for i, shape in enumerate(shapes)
    )
    buf = io.BytesIO()
    _StubPickler(buf, protocol=2).dump(entries)
    gen = torch.Generator().manual_seed(0)
    with _open_zipfile_writer(str(path)) as zf:
        align = str(_get_storage_alignment())
        for name, value in [
            ("data.pkl", buf.getvalue()), (".format_version", b"1"),
            (".storage_alignment", align.encode()), ("byteorder", sys.byteorder.encode()),
        ]:  # fmt: skip
            zf.write_record(name, value, len(value))
        for i, n in enumerate(sizes):
            t = torch.empty(n, dtype=torch.float32).normal_(generator=gen)
            zf.write_record(f"data/{i}", t.untyped_storage(), t.nbytes)
            del t  # keep one tensor alive at a time
    return path


class _StorageStub:
    def __init__(self, key: str, numel: int) -> None:
        self.key = key
        self.numel = numel


class _TensorStub:
    """Pickles like a contiguous float32 CPU tensor whose storage is written separately."""

    def __init__(self, key: str, shape: tuple[int, ...]) -> None:
        numel = 1
        for d in shape:
            numel *= d
        self.storage = _StorageStub(key, numel)
        self.shape = shape

    def __reduce__(self) -> tuple[Any, ...]:
        stride = (self.shape[1], 1) if len(self.shape) == 2 else (1,)
        args = (self.storage, 0, self.shape, stride, False, collections.OrderedDict())
        return (torch._utils._rebuild_tensor_v2, args)


class _StubPickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _StorageStub):
            return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel)
        return None
