"""How each malicious sample is meant to be loaded by a victim.

A sample names its loader with a ``loader:<name>`` tag. The snippets are only ever run in a
child interpreter by ``verify_payloads.py``; nothing in the corpus package loads a sample.
"""

from __future__ import annotations

from .sample import Sample

# Each snippet loads the file named by sys.argv[1], exactly as an unsuspecting user would.
LOADERS: dict[str, str] = {
    "pickle": "import pickle, sys\nwith open(sys.argv[1], 'rb') as f:\n    pickle.load(f)",
    # torch >= 2.6 defaults to weights_only=True; these files target the many callers that
    # still pass weights_only=False (or run older torch).
    "torch": "import sys, torch\ntorch.load(sys.argv[1], weights_only=False)",
    "joblib": "import sys, joblib\njoblib.load(sys.argv[1])",
    "numpy": "import sys, numpy\nnumpy.load(sys.argv[1], allow_pickle=True)",
    "numpy-npz": (
        "import sys, numpy\n"
        "with numpy.load(sys.argv[1], allow_pickle=True) as z:\n"
        "    {k: z[k] for k in z.files}"
    ),
    # A model shipped as an archive: unpack the inner checkpoint, then torch.load it.
    "zip-torch": (
        "import io, sys, torch, zipfile\n"
        "with zipfile.ZipFile(sys.argv[1]) as z:\n"
        "    for n in z.namelist():\n"
        "        if n.endswith(('.pt', '.pth', '.bin', '.ckpt')):\n"
        "            torch.load(io.BytesIO(z.read(n)), weights_only=False)"
    ),
}


def _with_formats(base: dict[str, str]) -> dict[str, str]:
    from .formats import FORMAT_LOADERS

    return {**base, **FORMAT_LOADERS}


LOADERS = _with_formats(LOADERS)
NO_LOADER = "none"
"""Loader tag of samples whose harm is not code execution (path traversal, parser
differentials): no marker can show it, so payload verification skips them."""


def loader_of(sample: Sample) -> str:
    for tag in sample.tags:
        if tag.startswith("loader:"):
            return tag.removeprefix("loader:")
    raise ValueError(f"{sample.name} has no loader tag")
