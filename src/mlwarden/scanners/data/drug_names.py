"""The bundled list of generic drug names (package data ``drug_names.txt``)."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

_NAME = re.compile(r"[a-z][a-z -]{2,40}")


@lru_cache(maxsize=1)
def drug_names() -> frozenset[str]:
    """Lower-case generic drug names, read once from the package data file.

    Only names made of letters, spaces and hyphens are kept, because each becomes part
    of a regular expression.
    """
    text = resources.files(__package__).joinpath("drug_names.txt").read_text("utf-8")
    names = (line.strip().lower() for line in text.splitlines())
    return frozenset(n for n in names if n and not n.startswith("#") and _NAME.fullmatch(n))
