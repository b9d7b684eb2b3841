"""A policy's rules for one input turned into operator objects, built once and reused."""

from __future__ import annotations

from dataclasses import dataclass

from mlwarden.errors import UsageError
from mlwarden.masking.catalog import build_operator
from mlwarden.masking.keys import KeySource, MaskKey
from mlwarden.masking.operators import MaskOperator
from mlwarden.masking.policy import DetectionSettings, EffectiveRules, OperatorSpec


@dataclass(frozen=True)
class ColumnAction:
    """What happens to one column path."""

    operator: MaskOperator | None
    """Applied to whole values; None means "run entity detection inside the text"."""
    drop: bool = False


DETECT = ColumnAction(operator=None)


class MaskPlan:
    """Operators for one input: column rules, entity actions and detection settings.

    The key is fetched from ``key_source`` once, and only when the rules need one, so a
    redact-only policy runs without any key configured.
    """

    def __init__(self, rules: EffectiveRules, key_source: KeySource | None) -> None:
        self.rules = rules
        self.detection: DetectionSettings = rules.detection
        self._key: MaskKey | None = None
        if rules.needs_key():
            if key_source is None:
                raise UsageError(
                    "masking key",
                    "the policy uses keyed operators but no key source was given",
                    "pass a key source (for example env_key_source())",
                )
            self._key = key_source()
        self._columns: dict[str, ColumnAction] = {}
        self._entities: dict[str, MaskOperator] = {}

    def _build(self, spec: OperatorSpec, label: str | None) -> MaskOperator:
        return build_operator(spec.name, spec.options, label=label, key=self._key)

    def column_action(self, path: str) -> ColumnAction | None:
        """The action a column rule sets for ``path``; None when no rule names the column."""
        if path not in self._columns:
            spec = self.rules.column_action(path)
            if spec is None or spec.name == "detect":
                self._columns[path] = DETECT
            else:
                self._columns[path] = ColumnAction(
                    operator=self._build(spec, None), drop=spec.name == "drop"
                )
        action = self._columns[path]
        return None if action is DETECT else action

    def entity_operator(self, entity: str) -> MaskOperator:
        """The operator for values detected (or classified) as ``entity``."""
        operator = self._entities.get(entity)
        if operator is None:
            operator = self._build(self.rules.entity_action(entity), entity)
            self._entities[entity] = operator
        return operator
