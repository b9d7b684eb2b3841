"""Masking policies: which columns and which detected entities get which operator.

A policy is a YAML file (see ``examples/masking-policy.yaml``)::

    version: 1
    detection: {enabled: true, min_confidence: 0.5, classify_columns: true}
    default_action: auto        # ids -> pseudonym, other entities -> redact
    entities:
      email: {operator: pseudonym, normalize: casefold}
      credit_card: card_surrogate
    columns:
      - match: ["ssn", "*_ssn"]
        operator: partial
        keep_last: 4
    datasets:
      claims:
        files: ["claims*.csv"]
        columns: [{match: notes, operator: redact}]

Project-level sections apply to every input; a dataset section (chosen with ``--dataset`` or
by its ``files`` globs) adds rules that take precedence. Column rules are tried in order, the
first match wins; a pattern without a dot matches the field name at any depth (``email``
matches ``user.email``), a pattern with a dot matches the whole dotted path. Matching ignores
case. Columns no rule names go through entity detection (deny by default).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Literal

from mlwarden.errors import ConfigError
from mlwarden.masking.catalog import OPERATORS
from mlwarden.masking.policy_yaml import LineMap, PathKey, read_policy_yaml

POLICY_VERSION = 1

IDENTIFIER_ENTITIES = frozenset(
    {
        "credit_card",
        "us_ssn",
        "iban",
        "email",
        "phone",
        "ip_address",
        "medical_record_number",
    }
)
"""Entities ``default_action: auto`` pseudonymises (with ``national_id_*``); others are redacted."""

_AUTO_NORMALISE = {"email": "casefold", "credit_card": "digits", "us_ssn": "digits"}


@dataclass(frozen=True)
class OperatorSpec:
    """An operator name with its validated options, as written in the policy."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    line: int | None = None
    """Line in the policy file (None for built-in defaults)."""


@dataclass(frozen=True)
class ColumnRule:
    """Columns matching any of ``patterns`` get ``action``."""

    patterns: tuple[str, ...]
    action: OperatorSpec

    def matches(self, path: str) -> bool:
        """True when the dotted column path matches one of the patterns (case-insensitive)."""
        full = path.casefold()
        leaf = full.rsplit(".", 1)[-1]
        for pattern in self.patterns:
            target = full if "." in pattern else leaf
            if fnmatch.fnmatchcase(target, pattern.casefold()):
                return True
        return False


@dataclass(frozen=True)
class DetectionSettings:
    """How detection-driven masking runs for columns no rule names and for plain text."""

    enabled: bool = True
    min_confidence: float = 0.5
    """Entity hits below this confidence are left alone."""
    classify_columns: bool = True
    """Classify each column from its first chunk and mask whole cells of identified columns."""
    entities: frozenset[str] | None = None
    """Only these entity ids are detected (None: all the detector knows)."""


@dataclass(frozen=True)
class RuleSet:
    """One section of a policy (project level or one dataset); None means "not set here"."""

    columns: tuple[ColumnRule, ...] = ()
    entities: tuple[tuple[str, OperatorSpec], ...] = ()
    default_action: OperatorSpec | Literal["auto"] | None = None
    detection: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetPolicy:
    """Rules for the inputs named by ``files`` globs or selected by name."""

    name: str
    files: tuple[str, ...]
    rules: RuleSet


@dataclass(frozen=True)
class EffectiveRules:
    """The rules that apply to one input: a dataset section merged over the project's."""

    source: str
    """The policy file these rules come from."""
    dataset: str | None
    columns: tuple[ColumnRule, ...]
    entities: tuple[tuple[str, OperatorSpec], ...]
    default_action: OperatorSpec | None
    """None means ``auto``: identifiers pseudonymised, everything else redacted."""
    detection: DetectionSettings

    def column_action(self, path: str) -> OperatorSpec | None:
        """The first column rule matching ``path``, or None (the column goes to detection)."""
        for rule in self.columns:
            if rule.matches(path):
                return rule.action
        return None

    def entity_action(self, entity: str) -> OperatorSpec:
        """The operator for a detected ``entity``: named rule, then default action, then auto."""
        folded = entity.casefold()
        for pattern, spec in self.entities:
            if fnmatch.fnmatchcase(folded, pattern.casefold()):
                return spec
        if self.default_action is not None:
            return self.default_action
        if entity in IDENTIFIER_ENTITIES or entity.startswith("national_id_"):
            normalise = _AUTO_NORMALISE.get(entity, "none")
            return OperatorSpec("pseudonym", {"normalize": normalise})
        return OperatorSpec("redact")

    def check_entity_ids(self, known: frozenset[str]) -> None:
        """Raise :class:`ConfigError` for an entity id or glob that names no known entity.

        A misspelt ``emial:`` rule would otherwise never apply, silently.
        """
        for pattern, spec in self.entities:
            folded = pattern.casefold()
            if not any(fnmatch.fnmatchcase(e, folded) for e in known):
                where = f"{self.source}:{spec.line}" if spec.line else self.source
                raise ConfigError(
                    where,
                    f"entities: {pattern!r} matches no entity the detector knows",
                    f"use one of: {', '.join(sorted(known))}",
                )
        unknown = sorted((self.detection.entities or frozenset()) - known)
        if unknown:
            raise ConfigError(
                self.source,
                f"detection.entities: unknown entity id(s) {', '.join(unknown)}",
                f"use one of: {', '.join(sorted(known))}",
            )

    def needs_key(self) -> bool:
        """True when some operator these rules may apply needs the masking key."""
        specs = [rule.action for rule in self.columns] + [spec for _, spec in self.entities]
        if self.detection.enabled:
            if self.detection.entities is not None:
                specs.extend(self.entity_action(e) for e in self.detection.entities)
            else:
                # Any entity may be found; under auto, identifiers are pseudonymised.
                specs.append(self.default_action or OperatorSpec("pseudonym"))
        return any(OPERATORS[spec.name].keyed for spec in specs)


@dataclass(frozen=True)
class MaskPolicy:
    """A validated policy file."""

    source: str
    project: RuleSet
    datasets: tuple[DatasetPolicy, ...] = ()

    def rules_for(
        self, input_path: str | os.PathLike[str], dataset: str | None = None
    ) -> EffectiveRules:
        """The rules for ``input_path``.

        They come from the named ``dataset``, else from the first dataset whose ``files``
        glob matches the path, merged over the project-level rules.
        """
        chosen: DatasetPolicy | None = None
        if dataset is not None:
            chosen = next((d for d in self.datasets if d.name == dataset), None)
            if chosen is None:
                names = ", ".join(d.name for d in self.datasets) or "none defined"
                raise ConfigError(
                    "--dataset",
                    f"{self.source} has no dataset {dataset!r}",
                    f"use one of: {names}",
                )
        else:
            path = PurePath(input_path)
            for candidate in self.datasets:
                if any(path.match(glob) for glob in candidate.files):
                    chosen = candidate
                    break
        return _merge(self.source, self.project, chosen)


def _merge(source: str, project: RuleSet, dataset: DatasetPolicy | None) -> EffectiveRules:
    own = RuleSet() if dataset is None else dataset.rules
    settings = {**project.detection, **own.detection}
    return EffectiveRules(
        source=source,
        dataset=dataset.name if dataset else None,
        columns=own.columns + project.columns,
        entities=own.entities + project.entities,
        default_action=_chosen_default(own.default_action, project.default_action),
        detection=DetectionSettings(**settings),
    )


def _chosen_default(
    own: OperatorSpec | Literal["auto"] | None, project: OperatorSpec | Literal["auto"] | None
) -> OperatorSpec | None:
    chosen = own if own is not None else project
    return None if chosen == "auto" else chosen


def default_policy() -> MaskPolicy:
    """Detection only, default actions: what runs when no policy file is given."""
    return MaskPolicy(source="(built-in default policy)", project=RuleSet())


def load_policy(path: str | os.PathLike[str]) -> MaskPolicy:
    """Read and validate a policy file; raise :class:`ConfigError` naming file, line and fix."""
    source = str(Path(path))
    data, lines = read_policy_yaml(Path(path))
    return _Validator(source, lines).policy(data)


_TOP_KEYS = {"version", "detection", "default_action", "entities", "columns", "datasets"}
_DATASET_KEYS = {"files", "detection", "default_action", "entities", "columns"}
_DETECTION_KEYS = {"enabled", "min_confidence", "classify_columns", "entities"}


class _Validator:
    """Turns the parsed YAML into policy objects, failing on the first problem found."""

    def __init__(self, source: str, lines: LineMap) -> None:
        self.source = source
        self.lines = lines

    def fail(self, where: PathKey, problem: str, fix: str) -> ConfigError:
        line = self.lines.line(where)
        subject = f"{self.source}:{line}" if line is not None else self.source
        location = _dotted(where)
        return ConfigError(subject, f"{location}: {problem}" if location else problem, fix)

    def mapping(self, value: Any, where: PathKey, allowed: set[str] | None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, found {_kind(value)}", "see the example")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(where, f"key {key!r} is not text", "quote the key")
            if allowed is not None and key not in allowed:
                raise self.fail(
                    (*where, key),
                    f"unknown key {key!r}",
                    f"use one of: {', '.join(sorted(allowed))}",
                )
        return value

    def policy(self, data: Any) -> MaskPolicy:
        if data is None:
            raise self.fail((), "the policy is empty", f"start it with 'version: {POLICY_VERSION}'")
        top = self.mapping(data, (), _TOP_KEYS)
        if top.get("version") != POLICY_VERSION:
            raise self.fail(
                ("version",),
                f"unsupported or missing version {top.get('version')!r}",
                f"set 'version: {POLICY_VERSION}'",
            )
        project = self.rule_set(top, ())
        datasets: list[DatasetPolicy] = []
        raw_datasets = top.get("datasets", {})
        for name, body in self.mapping(raw_datasets, ("datasets",), None).items():
            where: PathKey = ("datasets", name)
            section = self.mapping(body, where, _DATASET_KEYS)
            files = self.text_list(section.get("files", []), (*where, "files"))
            datasets.append(DatasetPolicy(name, files, self.rule_set(section, where)))
        return MaskPolicy(self.source, project, tuple(datasets))

    def rule_set(self, section: dict[str, Any], where: PathKey) -> RuleSet:
        columns = self.columns(section.get("columns", []), (*where, "columns"))
        entities = self.entities(section.get("entities", {}), (*where, "entities"))
        default = section.get("default_action")
        default_spec: OperatorSpec | Literal["auto"] | None = None
        if default == "auto":
            default_spec = "auto"
        elif default is not None:
            default_spec = self.operator(default, (*where, "default_action"), column=False)
        detection = self.detection(section.get("detection", {}), (*where, "detection"))
        return RuleSet(columns, entities, default_spec, detection)

    def columns(self, value: Any, where: PathKey) -> tuple[ColumnRule, ...]:
        if not isinstance(value, list):
            raise self.fail(
                where, f"expected a list of rules, found {_kind(value)}", "see the example"
            )
        rules: list[ColumnRule] = []
        for index, item in enumerate(value):
            here = (*where, index)
            body = dict(self.mapping(item, here, None))
            if "match" not in body:
                raise self.fail(here, "a column rule needs 'match'", "add match: <column or glob>")
            patterns = self.text_list(body.pop("match"), (*here, "match"))
            if not patterns:
                raise self.fail((*here, "match"), "no column pattern", "name at least one column")
            rules.append(ColumnRule(patterns, self.operator(body, here, column=True)))
        return tuple(rules)

    def entities(self, value: Any, where: PathKey) -> tuple[tuple[str, OperatorSpec], ...]:
        section = self.mapping(value, where, None)
        return tuple(
            (name, self.operator(spec, (*where, name), column=False))
            for name, spec in section.items()
        )

    def operator(self, value: Any, where: PathKey, *, column: bool) -> OperatorSpec:
        """An operator given as ``name`` or ``{operator: name, option: value, ...}``."""
        body: dict[str, Any]
        if isinstance(value, str):
            body = {"operator": value}
        else:
            body = dict(self.mapping(value, where, None))
        name = body.pop("operator", None)
        allowed = [k for k, kind in OPERATORS.items() if column or not kind.columns_only]
        if not isinstance(name, str) or name not in allowed:
            problem = "missing 'operator'" if name is None else f"unknown operator {name!r}"
            if isinstance(name, str) and name in OPERATORS:
                problem = f"operator {name!r} applies to columns, not to detected entities"
            raise self.fail(where, problem, f"use one of: {', '.join(allowed)}")
        kind = OPERATORS[name]
        for option, option_value in body.items():
            spec = kind.options.get(option)
            here = (*where, option)
            if spec is None:
                choices = ", ".join(kind.options) or "none"
                raise self.fail(
                    here,
                    f"operator {name!r} has no option {option!r}",
                    f"its options are: {choices}",
                )
            if isinstance(option_value, bool) != (spec.kind is bool) or not isinstance(
                option_value, spec.kind
            ):
                raise self.fail(
                    here,
                    f"expected {spec.kind.__name__}, found {_kind(option_value)}",
                    "fix the value",
                )
            complaint = spec.check(option_value)
            if complaint is not None:
                raise self.fail(here, f"{option} {complaint}", "fix the value")
        return OperatorSpec(name, dict(body), self.lines.line(where))

    def detection(self, value: Any, where: PathKey) -> dict[str, Any]:
        section = self.mapping(value, where, _DETECTION_KEYS)
        out: dict[str, Any] = {}
        for key in section:
            here = (*where, key)
            option_value: Any = section[key]
            if key == "entities":
                out[key] = frozenset(self.text_list(option_value, here))
            elif key == "min_confidence":
                number = isinstance(option_value, int | float) and not isinstance(
                    option_value, bool
                )
                if not number or not 0.0 <= option_value <= 1.0:
                    raise self.fail(here, "must be a number between 0 and 1", "e.g. 0.5")
                out[key] = float(option_value)
            elif not isinstance(option_value, bool):
                raise self.fail(here, f"expected true/false, found {_kind(option_value)}", "fix it")
            else:
                out[key] = option_value
        return out

    def text_list(self, value: Any, where: PathKey) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
            raise self.fail(where, "expected text or a list of text", "e.g. [email, '*_email']")
        return tuple(items)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def _dotted(where: PathKey) -> str:
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
