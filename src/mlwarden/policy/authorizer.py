"""Authorization: may this principal perform this action on this resource?

Decisions come from Cedar policies — the bundled ``data/*.cedar`` or, when the server is
given a policy directory, every ``*.cedar`` file there instead. Python only translates the
request: it resolves the principal's roles for the resource's project (Cedar never sees
role bindings), and it denies whatever Cedar does not positively allow — no permit, an
unknown action, a malformed context or any evaluation error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import cedarpy

from mlwarden.errors import UsageError
from mlwarden.identity.model import ALL_PROJECTS, Principal
from mlwarden.policy.actions import ACTIONS, ENTITY_TYPES, GROUPS, ActionSpec

NO_PERMIT = "no policy permits this"
_MAX_POLICY_BYTES = 1 << 20
_COMPUTED_CONTEXT = ("roles", "global_roles")
_COMPUTED_ATTRS = ("project", "labels")


@dataclass(frozen=True)
class AccessRequest:
    """One question to the authorizer.

    ``resource_type`` is informational: the Cedar entity type comes from the action's
    declared resource type (see :mod:`mlwarden.policy.actions`). ``attributes`` carry e.g.
    ``creator`` (uploader name) and ``stage`` (target stage); ``context`` carries ``hour``
    (UTC, defaults to now), ``factors`` and ``risk``. Roles are always computed from the
    principal's bindings; a ``roles`` key in ``context`` is ignored.
    """

    principal: Principal
    action: str
    resource_type: str
    resource_id: str
    project: str | None
    attributes: Mapping[str, str | int | bool] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    context: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class AccessDecision:
    """The answer: allowed or not, and why (the ``@id`` of each determining policy, or
    what went wrong)."""

    allowed: bool
    reasons: tuple[str, ...]


class _BadRequest(Exception):
    """A request Cedar must not see; the message becomes the denial's reason."""


def _policy_sources(policy_dir: Path | None) -> list[tuple[str, str]]:
    """(name, text) of every policy file to load, in name order."""
    if policy_dir is None:
        data = resources.files("mlwarden.policy").joinpath("data")
        bundled = sorted(
            (p for p in data.iterdir() if p.name.endswith(".cedar")), key=lambda p: p.name
        )
        return [(f"mlwarden/policy/data/{p.name}", p.read_text("utf-8")) for p in bundled]
    if not policy_dir.is_dir():
        raise UsageError(
            str(policy_dir),
            "is not a directory",
            "point policy_dir at a directory of *.cedar files",
        )
    files = sorted(policy_dir.glob("*.cedar"))
    if not files:
        raise UsageError(
            str(policy_dir),
            "holds no *.cedar files, so every request would be denied",
            "add policy files, or remove policy_dir to use the bundled policies",
        )
    sources = []
    for path in files:
        try:
            with path.open("rb") as fh:
                raw = fh.read(_MAX_POLICY_BYTES + 1)
        except OSError as exc:
            raise UsageError(str(path), f"cannot be read ({exc.strerror})", "check it") from None
        if len(raw) > _MAX_POLICY_BYTES:
            raise UsageError(str(path), "is larger than 1 MiB", "split or trim it")
        try:
            sources.append((str(path), raw.decode("utf-8")))
        except UnicodeDecodeError:
            raise UsageError(str(path), "is not UTF-8 text", "save it as UTF-8") from None
    return sources


def _parse(name: str, text: str) -> cedarpy.PolicySet:
    try:
        return cedarpy.PolicySet.from_str(text)
    except ValueError as exc:
        raise UsageError(
            name, f"is not a valid Cedar policy file ({exc})", "fix the policy syntax"
        ) from None


def _action_entities() -> list[dict[str, Any]]:
    """Every action as a member of its group, so ``action in Action::"group"`` works."""
    groups = [{"uid": _uid("Action", g), "attrs": {}, "parents": []} for g in GROUPS]
    members = [
        {"uid": _uid("Action", spec.name), "attrs": {}, "parents": [_uid("Action", spec.group)]}
        for spec in ACTIONS.values()
    ]
    return groups + members


def _uid(entity_type: str, entity_id: str) -> dict[str, str]:
    return {"type": entity_type, "id": entity_id}


def bundled_schema() -> str:
    """The Cedar schema (human-readable syntax) the bundled policies are written against."""
    data = resources.files("mlwarden.policy").joinpath("data")
    return data.joinpath("schema.cedarschema").read_text("utf-8")


class Authorizer:
    """Cedar-backed decisions over a fixed policy set; deny by default.

    ``policy_dir`` replaces the bundled policies with every ``*.cedar`` file in it (copy
    the bundled ones there to extend rather than replace). A file that does not parse is a
    :class:`UsageError` naming it. Instances are immutable and safe to share across threads.
    """

    def __init__(self, policy_dir: Path | None = None) -> None:
        sources = _policy_sources(policy_dir)
        for name, text in sources:
            _parse(name, text)  # one file at a time, so an error names its file
        self.sources: tuple[str, ...] = tuple(name for name, _ in sources)
        # Newline-joined: a file ending in a comment must not swallow the next file's start.
        self._text = "\n".join(text for _, text in sources)
        self._policies = _parse(", ".join(self.sources), self._text)
        self._actions = cedarpy.Entities.from_json_str(json.dumps(_action_entities()))

    def schema_errors(self) -> tuple[str, ...]:
        """Where the loaded policies disagree with :func:`bundled_schema` (empty if none).

        Custom policies that read attributes of their own will show up here; that is
        allowed, so this is a check to run, not a load-time requirement.
        """
        result = cedarpy.validate_policies(self._text, bundled_schema())
        return tuple(str(error) for error in result.errors)

    def decide(self, req: AccessRequest) -> AccessDecision:
        """Allow only when Cedar allows without any evaluation error."""
        spec = ACTIONS.get(req.action)
        if spec is None:
            return AccessDecision(False, (f"unknown action {req.action!r}",))
        try:
            context = _context(req)
            entities = self._actions.with_added_json_str(json.dumps(_entities(req, spec)))
            request = {
                "principal": _uid("Principal", req.principal.id),
                "action": _uid("Action", spec.name),
                "resource": _uid(ENTITY_TYPES[spec.resource_type], req.resource_id),
                "context": context,
            }
            result = cedarpy.is_authorized(request, self._policies, entities)
        except _BadRequest as exc:
            return AccessDecision(False, (str(exc),))
        except Exception as exc:  # fail closed on anything the engine throws
            return AccessDecision(False, (f"policy engine error: {exc}",))
        diagnostics = result.diagnostics
        if diagnostics.errors:
            # Cedar ignores a policy whose condition errors; a skipped forbid must not
            # turn into an allow, so any error denies.
            return AccessDecision(False, tuple(f"policy error: {e}" for e in diagnostics.errors))
        names = diagnostics.id_annotations_by_reason
        reasons = tuple(names.get(pid) or pid for pid in diagnostics.reasons)
        if result.allowed:
            return AccessDecision(True, reasons)
        return AccessDecision(False, reasons or (NO_PERMIT,))


def _global_roles(principal: Principal) -> list[str]:
    return sorted({b.role for b in principal.bindings if b.project == ALL_PROJECTS})


def _context(req: AccessRequest) -> dict[str, Any]:
    raw = req.context
    hour = raw.get("hour")
    if hour is None:
        hour = datetime.now(UTC).hour
    if not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23:
        raise _BadRequest("invalid context: hour must be an integer 0-23")
    risk = raw.get("risk", 0)
    if not isinstance(risk, int) or isinstance(risk, bool):
        raise _BadRequest("invalid context: risk must be an integer")
    context: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _COMPUTED_CONTEXT:
            context[key] = _value(value, f"context {key}")
    roles = _global_roles(req.principal)
    if req.project is not None:
        roles = sorted(req.principal.roles_in(req.project))
    context.update(
        hour=hour,
        risk=risk,
        factors=_string_set(raw.get("factors", ()), "factors"),
        roles=roles,
        global_roles=_global_roles(req.principal),
    )
    return context


def _string_set(value: object, what: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise _BadRequest(f"invalid context: {what} must be a list of strings")
    items = list(value)
    if not all(isinstance(item, str) for item in items):
        raise _BadRequest(f"invalid context: {what} must be a list of strings")
    return sorted(set(items))


def _value(value: object, where: str) -> Any:
    """A value Cedar can hold without surprises: strings, integers, booleans and lists
    of those. Floats have no Cedar type; anything else would be guessed at."""
    if isinstance(value, str | int | bool):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        items = [_value(item, where) for item in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    raise _BadRequest(f"invalid {where}: {type(value).__name__} is not a string, integer or bool")


def _entities(req: AccessRequest, spec: ActionSpec) -> list[dict[str, Any]]:
    principal = req.principal
    attrs: dict[str, Any] = {
        key: _value(value, f"attribute {key}")
        for key, value in req.attributes.items()
        if key not in _COMPUTED_ATTRS
    }
    attrs["labels"] = {str(k): _value(v, f"label {k}") for k, v in req.labels.items()}
    if req.project is not None:
        attrs["project"] = req.project
    return [
        {
            "uid": _uid("Principal", principal.id),
            "attrs": {
                "name": principal.name,
                "kind": principal.kind,
                "disabled": principal.disabled,
                "groups": sorted(principal.groups),
            },
            "parents": [],
        },
        {
            "uid": _uid(ENTITY_TYPES[spec.resource_type], req.resource_id),
            "attrs": attrs,
            "parents": [],
        },
    ]
