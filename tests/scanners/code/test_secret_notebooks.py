"""Secrets in Jupyter notebooks: sources and text outputs, never image data or metadata noise."""

from __future__ import annotations

import json
import random

import pytest
from fake_secrets import (
    ALNUM,
    code_cell,
    error,
    fake_secrets,
    notebook,
    png_output,
    realistic_notebook,
    result,
    stream,
)
from secret_scanning import context, scan_notebook

from mlwarden.findings import Location
from mlwarden.scanners.base import Blob, LimitExceeded, MalformedInput
from mlwarden.scanners.code import (
    NotebookSecretsScanner,
    SecretScanOptions,
    looks_like_notebook,
    looks_like_source,
)

SECRETS = fake_secrets()


def _line_of(text: str, probe: str) -> int:
    return next(i for i, line in enumerate(text.split("\n"), 1) if probe in line)


def test_secrets_in_sources_and_every_text_output_are_found_with_cell_and_line() -> None:
    cells = []
    expected = set()
    for n, secret in enumerate(SECRETS, 1):
        source = f"import os\n{secret.py}\nprint('ready')"
        traceback_line = secret.py
        cells.append(
            code_cell(
                source,
                [stream(f"loaded:\n{secret.py}\n"), result(secret.py, n), error(traceback_line)],
                n,
            )
        )
        expected.add((f"cell {n}", _line_of(source, secret.probe), secret.rule_id))
        expected.add((f"cell {n} output 1", _line_of(secret.py, secret.probe) + 1, secret.rule_id))
        expected.add((f"cell {n} output 2", _line_of(secret.py, secret.probe), secret.rule_id))
    found = scan_notebook(notebook(cells))
    located = {(f.location.field, f.location.line, f.rule_id) for f in found}
    assert expected - located == set()
    # The traceback output holds each secret too (its line depends on the frame text).
    for n, secret in enumerate(SECRETS, 1):
        assert any(
            f.location.field == f"cell {n} output 3" and f.rule_id == secret.rule_id for f in found
        ), secret.kind
    assert all(f.location.path == "train.ipynb" for f in found)


def test_realistic_notebooks_with_images_tables_hashes_and_vectors_are_clean() -> None:
    rng = random.Random(21)
    for _ in range(5):
        assert scan_notebook(realistic_notebook(rng, extra_cells=3)) == []


def test_image_data_is_never_read_even_if_it_spells_a_token() -> None:
    hf = next(s.secret for s in SECRETS if s.kind == "hugging-face")
    figure = png_output(random.Random(1))
    figure["data"]["image/png"] = "iVBORw0KGgo" + hf + "AAAA"  # type: ignore[index]
    assert scan_notebook(notebook([code_cell("plt.show()", [figure])])) == []


def test_metadata_and_html_are_read_for_token_formats_only() -> None:
    hf = next(s.secret for s in SECRETS if s.kind == "hugging-face")
    doc = json.loads(
        notebook(
            [
                code_cell(
                    "x = 1",
                    [
                        result(
                            "x",
                            1,
                            {"text/html": [f"<td>password = 'Zq8#mK2$vLp9!xR4'</td><td>{hf}</td>"]},
                        )
                    ],
                )
            ]
        )
    )
    doc["metadata"]["env"] = {"HF_TOKEN": hf, "api_token": "Zq8mK2vLp9xR4wT7yU1iO3pA"}
    found = scan_notebook(json.dumps(doc).encode())
    assert sorted((f.location.field, f.rule_id) for f in found) == [
        ("cell 1 output 1", "MLW-SEC-011"),
        ("metadata", "MLW-SEC-011"),
    ]


def test_nbformat_3_notebooks_are_read() -> None:
    hf = next(s.secret for s in SECRETS if s.kind == "hugging-face")
    doc = {
        "metadata": {"name": "old"},
        "nbformat": 3,
        "nbformat_minor": 0,
        "worksheets": [
            {
                "cells": [
                    {"cell_type": "markdown", "source": ["# Setup"]},
                    {
                        "cell_type": "code",
                        "input": ["import os\n", f"os.environ['HF_TOKEN'] = '{hf}'"],
                        "language": "python",
                        "outputs": [
                            {"output_type": "pyout", "prompt_number": 1, "text": [hf]},
                            {"output_type": "pyerr", "ename": "E", "evalue": hf, "traceback": []},
                            {"output_type": "display_data", "png": "iVBORw0KGgo" + hf},
                        ],
                    },
                ]
            }
        ],
    }
    found = scan_notebook(json.dumps(doc).encode())
    assert sorted((f.location.field, f.location.line) for f in found) == [
        ("cell 2", 2),
        ("cell 2 output 1", 1),
        ("cell 2 output 2", 1),
    ]


def test_inline_suppression_works_in_cells() -> None:
    hf = next(s.secret for s in SECRETS if s.kind == "hugging-face")
    source = f'a = "{hf}"  # mlwarden: ignore[MLW-SEC-011]\nb = "{hf}"'
    found = scan_notebook(notebook([code_cell(source)]))
    assert [(f.location.field, f.location.line) for f in found] == [("cell 1", 2)]


def _scan_raising(data: bytes) -> tuple[list[str], Exception]:
    scanner = NotebookSecretsScanner()
    seen: list[str] = []
    with pytest.raises((MalformedInput, LimitExceeded)) as info:
        for finding in scanner.scan(Blob(data, Location("nb.ipynb"), "nb.ipynb"), context()):
            seen.append(finding.rule_id)
    return seen, info.value


def test_a_notebook_that_is_not_json_is_malformed_but_its_secrets_are_still_found() -> None:
    hf = next(s.secret for s in SECRETS if s.kind == "hugging-face")
    broken = notebook([code_cell(f"token = '{hf}'")])[:-40]
    seen, exc = _scan_raising(broken)
    assert isinstance(exc, MalformedInput)
    assert seen == ["MLW-SEC-011"]


MALFORMED = {
    "array": b"[1, 2, 3]",
    "deep": b'{"cells": ' + b"[" * 100_000,
    "cells-string": b'{"cells": "not a list"}',
    "bad-cells": b'{"cells": [42, {"cell_type": "code", "source": 7, "outputs": {}}]}',
    "bad-outputs": b'{"cells": [{"cell_type": "code", "source": "x", "outputs": [1, '
    b'{"output_type": "error", "traceback": 5}]}]}',
    "binary": b"\xff\xfe\x00garbage",
    "huge-int": b'{"cells": [], "x": ' + b"9" * 5000 + b"}",
    "truncated": b'{"cells": [{"cell_type": "code", "source": "x = 1',
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_notebooks_are_reported_as_malformed_not_crashed(name: str) -> None:
    _seen, exc = _scan_raising(MALFORMED[name])
    assert isinstance(exc, MalformedInput)


def test_structural_problems_are_reported_after_the_readable_cells() -> None:
    hf = next(s.secret for s in SECRETS if s.kind == "hugging-face")
    data = json.dumps(
        {"cells": [42, {"cell_type": "code", "source": f"t = '{hf}'", "outputs": "oops"}]}
    ).encode()
    seen, exc = _scan_raising(data)
    assert seen == ["MLW-SEC-011"]
    assert "cell 1 is not an object" in str(exc) and "outputs is not a list" in str(exc)


def test_a_notebook_above_the_size_limit_is_read_as_text_and_reported_partial() -> None:
    hf = next(s.secret for s in SECRETS if s.kind == "hugging-face")
    data = notebook([code_cell(f"token = '{hf}'", [png_output(random.Random(2))])])
    scanner = NotebookSecretsScanner(SecretScanOptions(max_notebook_bytes=1000))
    seen = []
    with pytest.raises(LimitExceeded):
        for f in scanner.scan(Blob(data, Location("nb.ipynb"), "nb.ipynb"), context()):
            seen.append(f.rule_id)
    assert seen == ["MLW-SEC-011"]


def test_sniffers_tell_notebooks_from_text_from_binaries() -> None:
    nb = notebook([code_cell("x = 1")])
    assert looks_like_notebook("a.ipynb", nb[:8192])
    assert looks_like_notebook("renamed.json", nb[:8192])
    assert looks_like_notebook("broken.ipynb", b'{"cells": [')
    assert not looks_like_notebook("config.json", b'{"architectures": ["Bert"]}')
    assert not looks_like_notebook("a.ipynb", b"\x80\x04\x95")
    assert looks_like_source("train.py", b"import os\nprint('hi')\n")
    assert looks_like_source(".env", b"\xef\xbb\xbfHF_TOKEN=abc\n")
    assert looks_like_source("notes.md", "caf\u00e9 \u2603\n".encode() + "\u00e9".encode()[:1])
    assert not looks_like_source("model.pt", b"\x80\x02}q\x00(X\x01\x00\x00\x00a")
    assert not looks_like_source("w.bin", bytes(range(256)))
    assert not looks_like_source("latin1.txt", b"caf\xe9 au lait\n")
    assert not looks_like_source("empty", b"")
    random_bytes = random.Random(0).randbytes(4096)
    assert not looks_like_source("blob", random_bytes)
    assert looks_like_source("log.txt", b"\x1b[31mERROR\x1b[0m " + ALNUM.encode() * 10)
