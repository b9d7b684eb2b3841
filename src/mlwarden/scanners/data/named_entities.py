"""Person names and places in free text, through spaCy when it is installed.

spaCy is not a dependency of mlwarden: when it (or an English pipeline with a named-entity
recogniser, ``en_core_web_sm`` and the like) is missing, :func:`find_names` returns nothing
and the offline detectors still find names next to cue words (``Name: ...``) and in
columns named for them. Nothing is ever downloaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from mlwarden.scanners.data.entity_types import LOCATION, PERSON

_PIPELINES = ("en_core_web_sm", "en_core_web_md", "en_core_web_lg", "en_core_web_trf")
_LABELS = {"PERSON": PERSON, "PER": PERSON, "GPE": LOCATION, "LOC": LOCATION}
_MAX_CHARS = 100_000  # spaCy's cost grows with the text; longer texts are read in pieces

Finder = Callable[[str], list[tuple[str, int, int]]]


@lru_cache(maxsize=1)
def _pipeline() -> Any | None:
    try:
        spacy = importlib.import_module("spacy")
    except ImportError:
        return None
    for name in _PIPELINES:
        try:
            if spacy.util.is_package(name):
                return spacy.load(name, disable=["parser", "lemmatizer", "textcat"])
        except (OSError, ValueError, ImportError):
            continue
    return None


def available() -> bool:
    """True when a spaCy pipeline with a named-entity recogniser is installed."""
    return _pipeline() is not None


def find_names(text: str) -> list[tuple[str, int, int]]:
    """``(entity, start, end)`` for each person or place spaCy finds (empty without spaCy)."""
    nlp = _pipeline()
    if nlp is None:
        return []
    found: list[tuple[str, int, int]] = []
    for offset in range(0, len(text), _MAX_CHARS):
        doc = nlp(text[offset : offset + _MAX_CHARS])
        for ent in doc.ents:
            entity = _LABELS.get(ent.label_)
            if entity is not None:
                found.append((entity, offset + ent.start_char, offset + ent.end_char))
    return found
