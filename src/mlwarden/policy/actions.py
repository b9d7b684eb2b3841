"""The fixed action vocabulary, as data the server, the policies and the tests share.

Each action acts on one resource type and belongs to one group. Groups become Cedar action
entities that the actions are members of, so a policy can grant ``Action::"author"`` instead
of listing five actions — and a new action in a group is covered without editing policies.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class ActionSpec:
    """One action: the resource type it acts on and its group."""

    name: str
    resource_type: str
    group: str


RESOURCE_TYPES: tuple[str, ...] = ("project", "artifact", "ledger", "admin")

ENTITY_TYPES: MappingProxyType[str, str] = MappingProxyType(
    {"project": "Project", "artifact": "Artifact", "ledger": "Ledger", "admin": "Admin"}
)
"""Vocabulary resource type → Cedar entity type name."""

GROUPS: MappingProxyType[str, str] = MappingProxyType(
    {
        "browse": "see what a project holds",
        "predict": "run a registered model",
        "author": "bring artifacts in and out, sign them, ask for promotion",
        "approve": "approve a promotion",
        "curate": "delete artifacts",
        "audit": "read the ledger and the access log",
        "administer": "manage principals, groups, keys, bindings and projects",
    }
)

_SPECS = (
    ActionSpec("artifact.list", "project", "browse"),
    ActionSpec("artifact.read", "artifact", "browse"),
    ActionSpec("model.predict", "artifact", "predict"),
    ActionSpec("artifact.download", "artifact", "author"),
    ActionSpec("artifact.upload", "project", "author"),
    ActionSpec("artifact.sign", "artifact", "author"),
    ActionSpec("artifact.verify", "artifact", "author"),
    ActionSpec("model.promote.request", "artifact", "author"),
    ActionSpec("model.promote.approve", "artifact", "approve"),
    ActionSpec("artifact.delete", "artifact", "curate"),
    ActionSpec("ledger.read", "ledger", "audit"),
    ActionSpec("access.read", "ledger", "audit"),
    ActionSpec("admin.principals", "admin", "administer"),
)

ACTIONS: MappingProxyType[str, ActionSpec] = MappingProxyType({s.name: s for s in _SPECS})
"""Every action by name, in a stable order."""


def action(name: str) -> ActionSpec | None:
    """The action called ``name``, or None when it is not in the vocabulary."""
    return ACTIONS.get(name)
