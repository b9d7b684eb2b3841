"""The operators a policy can name, the options each accepts, and how each is built.

Adding an operator means one class in :mod:`mlwarden.masking.operators` and one entry in
:data:`OPERATORS`; policy validation and the engine read everything else from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlwarden.masking.keys import MaskKey
from mlwarden.masking.operators import (
    NORMALISE_CHOICES,
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

Builder = Callable[[dict[str, Any], str | None, MaskKey | None], MaskOperator]


def _keyed(key: MaskKey | None) -> MaskKey:
    if key is None:
        raise ValueError("this operator needs the masking key")
    return key


@dataclass(frozen=True)
class OptionSpec:
    """One option of an operator: its Python type and a check returning a problem or None."""

    kind: type
    """``int``, ``str`` or ``bool``; YAML values are checked against it."""
    check: Callable[[Any], str | None] = lambda _value: None
    """Returns a sentence describing what is wrong with the value, or None."""


@dataclass(frozen=True)
class OperatorKind:
    """What a policy may write after ``operator:``."""

    name: str
    summary: str
    """One line for error messages and documentation."""
    keyed: bool = False
    """True when building it needs the masking key."""
    columns_only: bool = False
    """True for structural actions (drop, detect) that make no sense for an entity hit."""
    options: Mapping[str, OptionSpec] = field(default_factory=dict)
    build: Builder | None = None
    """Makes the operator from validated options, the entity label and the key."""


def _between(low: int, high: int) -> Callable[[Any], str | None]:
    return lambda v: None if low <= v <= high else f"must be between {low} and {high}"


def _one_symbol(value: Any) -> str | None:
    if len(value) == 1 and not value.isalnum():
        return None
    return "must be a single character that is not a letter or digit"


def _short_text(value: Any) -> str | None:
    return None if 0 < len(value) <= 64 else "must be 1 to 64 characters"


OPERATORS: dict[str, OperatorKind] = {
    k.name: k
    for k in (
        OperatorKind(
            "redact",
            "replace with [REDACTED:<entity>] or a fixed token",
            options={"token": OptionSpec(str, _short_text), "label": OptionSpec(str, _short_text)},
            build=lambda o, label, _k: Redact(o.get("label", label), token=o.get("token")),
        ),
        OperatorKind(
            "partial",
            "mask letters and digits except the first/last few",
            options={
                "keep_first": OptionSpec(int, _between(0, 64)),
                "keep_last": OptionSpec(int, _between(0, 64)),
                "mask_char": OptionSpec(str, _one_symbol),
            },
            build=lambda o, _label, _k: PartialMask(**o),
        ),
        OperatorKind(
            "pseudonym",
            "keyed deterministic token (tok_...); joins keep working",
            keyed=True,
            options={
                "prefix": OptionSpec(str, lambda v: None if len(v) <= 32 else "max 32 characters"),
                "length": OptionSpec(int, _between(8, 32)),
                "domain": OptionSpec(str),
                "normalize": OptionSpec(
                    str,
                    lambda v: (
                        None
                        if v in NORMALISE_CHOICES
                        else f"must be one of {', '.join(NORMALISE_CHOICES)}"
                    ),
                ),
            },
            build=lambda o, _label, k: Pseudonym(_keyed(k), **o),
        ),
        OperatorKind(
            "card_surrogate",
            "keyed same-shape card number that fails Luhn (never a real card)",
            keyed=True,
            build=lambda _o, _label, k: CardSurrogate(_keyed(k)),
        ),
        OperatorKind(
            "phone_surrogate",
            "keyed same-format fictional number (N9X-555-01XX, Ofcom drama ranges)",
            keyed=True,
            build=lambda _o, _label, k: PhoneSurrogate(_keyed(k)),
        ),
        OperatorKind(
            "year",
            "generalise a date to its year",
            options={
                "max_age": OptionSpec(int, _between(0, 150)),
                "reference_year": OptionSpec(int, _between(1000, 2999)),
            },
            build=lambda o, _label, _k: GeneraliseDate(**o),
        ),
        OperatorKind(
            "zip3",
            "generalise a US ZIP code to 3 digits (000 when restricted)",
            build=lambda _o, _label, _k: GeneraliseZip(),
        ),
        OperatorKind("keep", "leave the value unmasked", build=lambda _o, _label, _k: Keep()),
        OperatorKind(
            "drop",
            "remove the column from the output",
            columns_only=True,
            build=lambda _o, _label, _k: DropColumn(),
        ),
        OperatorKind(
            "detect", "mask detected entities inside the text (the default)", columns_only=True
        ),
    )
}


def build_operator(
    name: str, options: Mapping[str, Any], *, label: str | None, key: MaskKey | None
) -> MaskOperator:
    """Build operator ``name`` from options already validated by the policy loader.

    ``label`` names the entity in redaction tokens; ``key`` is required by keyed operators.
    ``detect`` has no operator object: the engine runs detection itself.
    """
    build = OPERATORS[name].build
    if build is None:
        raise ValueError(f"operator {name!r} is applied by the engine, not built")
    return build(dict(options), label, key)
