"""The action vocabulary as data agrees with the Cedar schema the policies are checked against."""

from __future__ import annotations

import re

from mlwarden.policy.actions import ACTIONS, ENTITY_TYPES, GROUPS, RESOURCE_TYPES, action
from mlwarden.policy.authorizer import bundled_schema


def test_every_action_names_a_known_resource_type_and_group() -> None:
    for spec in ACTIONS.values():
        assert spec.resource_type in RESOURCE_TYPES
        assert spec.group in GROUPS
    assert set(ENTITY_TYPES) == set(RESOURCE_TYPES)
    assert action("artifact.read") == ACTIONS["artifact.read"]
    assert action("artifact.burn") is None


def test_the_schema_declares_the_same_actions_groups_and_resources() -> None:
    declared = re.findall(
        r'action "([^"]+)" in \[(\w+)\]\s+appliesTo \{ principal: Principal, resource: (\w+),',
        bundled_schema(),
    )
    assert {name: (group, resource) for name, group, resource in declared} == {
        s.name: (s.group, ENTITY_TYPES[s.resource_type]) for s in ACTIONS.values()
    }
