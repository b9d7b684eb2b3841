"""Masking and pseudonymisation of datasets: ``mlwarden mask``.

Public API::

    from mlwarden.masking import load_policy, mask_file, env_key_source

    policy = load_policy("masking-policy.yaml")
    summary = mask_file("customers.csv", "customers.masked.csv", policy,
                        key_source=env_key_source())

Pieces: :mod:`~.operators` (what a value becomes), :mod:`~.policy` (which value gets which
operator), :mod:`~.keys` (where keyed operators get their secret), :mod:`~.engine` (streaming
one file into a masked copy), :mod:`~.formats` (CSV/TSV, JSON lines, Parquet, text).
"""

from __future__ import annotations

from mlwarden.masking.engine import mask_file
from mlwarden.masking.keys import (
    KeySource,
    MaskKey,
    choose_key_source,
    derived_key_source,
    env_key_source,
    file_key_source,
)
from mlwarden.masking.operators import (
    CardSurrogate,
    DropColumn,
    GeneraliseDate,
    GeneraliseZip,
    Keep,
    MaskOperator,
    PartialMask,
    PhoneSurrogate,
    Pseudonym,
    Redact,
)
from mlwarden.masking.policy import MaskPolicy, default_policy, load_policy
from mlwarden.masking.summary import MaskSummary

__all__ = [
    "CardSurrogate",
    "DropColumn",
    "GeneraliseDate",
    "GeneraliseZip",
    "Keep",
    "KeySource",
    "MaskKey",
    "MaskOperator",
    "MaskPolicy",
    "MaskSummary",
    "PartialMask",
    "PhoneSurrogate",
    "Pseudonym",
    "Redact",
    "choose_key_source",
    "default_policy",
    "derived_key_source",
    "env_key_source",
    "file_key_source",
    "load_policy",
    "mask_file",
]
