"""The decision cache answers as the authorizer does: by the whole request, and through its
identity-keyed front only for the very same principal and resource objects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mlwarden.identity.model import Principal, RoleBinding
from mlwarden.policy.authorizer import AccessDecision, AccessRequest, Authorizer
from mlwarden.policy.decision_cache import CachedAuthorizer


@dataclass(frozen=True)
class _Resource:
    id: str
    attributes: dict[str, str | int | bool] = field(default_factory=dict)


class _Counting(Authorizer):
    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def decide(self, req: AccessRequest) -> AccessDecision:
        self.asked += 1
        return super().decide(req)


def _principal(role: str, name: str = "alice") -> Principal:
    return Principal(
        id=f"id-{name}",
        name=name,
        kind="user",
        disabled=False,
        groups=(),
        bindings=(RoleBinding(role, "alpha"),),
        totp_enrolled=False,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


def _ask(
    cache: CachedAuthorizer, who: Principal, action: str, resource: _Resource, hour: int
) -> tuple[AccessDecision, Callable[[], AccessRequest]]:
    def build() -> AccessRequest:
        return AccessRequest(
            principal=who,
            action=action,
            resource_type="artifact",
            resource_id=resource.id,
            project="alpha",
            attributes=resource.attributes,
            context={"hour": hour, "factors": ["key"], "risk": 0},
        )

    return cache.decide_for(who, action, resource, (hour, frozenset({"key"}), 0), build), build


def test_the_front_answers_exactly_as_the_authorizer() -> None:
    inner = _Counting()
    cache = CachedAuthorizer(inner)
    admin, viewer = _principal("admin"), _principal("viewer")
    model = _Resource("m:1", {"creator": "bob", "stage": "production", "kind": "model"})
    for who in (admin, viewer):
        for action in ("model.predict", "artifact.delete"):
            for hour in (3, 10):
                for _ in range(3):
                    decision, build = _ask(cache, who, action, model, hour)
                    assert decision == Authorizer().decide(build())
    assert inner.asked == 8  # one question per distinct request, however often asked


def test_equal_but_distinct_objects_still_get_the_right_answer() -> None:
    inner = _Counting()
    cache = CachedAuthorizer(inner)
    model = _Resource("m:1", {"creator": "bob", "stage": "production", "kind": "model"})
    first, _ = _ask(cache, _principal("viewer"), "model.predict", model, 10)
    again, _ = _ask(cache, _principal("viewer"), "model.predict", model, 10)
    assert first == again and first.allowed
    # A principal by the same name whose roles changed is a different question.
    demoted = _principal("auditor")
    denied, _ = _ask(cache, demoted, "model.predict", model, 10)
    assert not denied.allowed
    # So is another resource object with other attributes.
    staged = _Resource("m:1", {"creator": "bob", "stage": "staging", "kind": "model"})
    deleted, _ = _ask(cache, _principal("admin"), "artifact.delete", staged, 3)
    assert not deleted.allowed  # deletions only 07:00-19:00 UTC


def test_values_equal_in_python_but_not_in_cedar_are_different_questions() -> None:
    inner = _Counting()
    cache = CachedAuthorizer(inner)
    for value in (True, 1, "1"):
        req = AccessRequest(
            principal=_principal("viewer"),
            action="model.predict",
            resource_type="artifact",
            resource_id="m:1",
            project="alpha",
            attributes={"creator": "bob", "stage": "production", "tier": value},
            context={"hour": 10, "factors": ["key"], "risk": 0},
        )
        cache.decide(req)
    assert inner.asked == 3
