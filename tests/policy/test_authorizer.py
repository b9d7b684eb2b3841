"""The authorizer against an expected role table written here, independently of the policies."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import cedarpy
import pytest

from mlwarden.errors import UsageError
from mlwarden.identity.model import Principal, RoleBinding
from mlwarden.policy.actions import ACTIONS
from mlwarden.policy.authorizer import NO_PERMIT, AccessRequest, Authorizer, bundled_schema

OWN, OTHER = "alpha", "beta"

# What each role may do in a project where it is bound — the vocabulary's table, restated.
IN_PROJECT: dict[str, set[str]] = {
    "viewer": {"artifact.list", "artifact.read", "model.predict"},
    "data-scientist": {
        "artifact.list",
        "artifact.read",
        "model.predict",
        "artifact.download",
        "artifact.upload",
        "artifact.sign",
        "artifact.verify",
        "model.promote.request",
    },
    "approver": {"artifact.list", "artifact.read", "model.predict", "model.promote.approve"},
    "auditor": {"artifact.list", "artifact.read"},
    "admin": {
        "artifact.list",
        "artifact.read",
        "model.predict",
        "artifact.download",
        "artifact.upload",
        "artifact.sign",
        "artifact.verify",
        "model.promote.request",
        "model.promote.approve",
        "artifact.delete",
    },
}
# What a role additionally may do only when bound for "*".
GLOBAL_ONLY: dict[str, set[str]] = {
    "viewer": set(),
    "data-scientist": set(),
    "approver": set(),
    "auditor": {"ledger.read", "access.read"},
    "admin": {"ledger.read", "access.read", "admin.principals"},
}
RESOURCE = {
    "artifact.list": "project",
    "artifact.upload": "project",
    "ledger.read": "ledger",
    "access.read": "ledger",
    "admin.principals": "admin",
}


@pytest.fixture(scope="module")
def authorizer() -> Authorizer:
    return Authorizer()


def principal(*bindings: tuple[str, str], name: str = "alice", disabled: bool = False) -> Principal:
    return Principal(
        id=f"id-{name}",
        name=name,
        kind="user",
        disabled=disabled,
        groups=(),
        bindings=tuple(RoleBinding(role, project) for role, project in bindings),
        totp_enrolled=False,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


def ask(
    who: Principal,
    action: str,
    project: str | None = OWN,
    *,
    creator: str = "bob",
    stage: str = "staging",
    labels: dict[str, str] | None = None,
    hour: object = 10,
    factors: tuple[str, ...] = ("key",),
    **context: object,
) -> AccessRequest:
    kind = RESOURCE.get(action, "artifact")
    if kind in ("ledger", "admin"):
        project = None
    return AccessRequest(
        principal=who,
        action=action,
        resource_type=kind,
        resource_id="a-1" if kind == "artifact" else (project or "mlwarden"),
        project=project,
        attributes={"creator": creator, "stage": stage},
        labels=labels or {},
        context={"hour": hour, "factors": list(factors), "risk": 0, **context},
    )


def test_expected_table_covers_the_whole_vocabulary() -> None:
    listed = set().union(*IN_PROJECT.values(), *GLOBAL_ONLY.values())
    assert listed == set(ACTIONS)


@pytest.mark.parametrize("role", sorted(IN_PROJECT))
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_project_binding(authorizer: Authorizer, role: str, action: str) -> None:
    who = principal((role, OWN))
    own = authorizer.decide(ask(who, action, OWN))
    other = authorizer.decide(ask(who, action, OTHER))
    assert own.allowed == (action in IN_PROJECT[role]), own.reasons
    assert not other.allowed, other.reasons
    if own.allowed:
        assert role in own.reasons  # the permitting policy is named by its @id
    if action not in IN_PROJECT[role]:
        assert own.reasons == (NO_PERMIT,)


@pytest.mark.parametrize("role", sorted(IN_PROJECT))
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_global_binding(authorizer: Authorizer, role: str, action: str) -> None:
    who = principal((role, "*"))
    expected = action in IN_PROJECT[role] | GLOBAL_ONLY[role]
    for project in (OWN, OTHER):
        decision = authorizer.decide(ask(who, action, project))
        assert decision.allowed == expected, (project, decision.reasons)


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_no_binding_no_access(authorizer: Authorizer, action: str) -> None:
    assert authorizer.decide(ask(principal(), action)).reasons == (NO_PERMIT,)


def test_roles_from_several_bindings_add_up(authorizer: Authorizer) -> None:
    who = principal(("viewer", OWN), ("data-scientist", OTHER), ("auditor", "*"))
    assert not authorizer.decide(ask(who, "artifact.upload", OWN)).allowed
    assert authorizer.decide(ask(who, "artifact.upload", OTHER)).allowed
    assert authorizer.decide(ask(who, "ledger.read")).allowed


def test_roles_in_the_callers_context_are_ignored(authorizer: Authorizer) -> None:
    forged = ask(principal(("viewer", OWN)), "artifact.delete", roles=["admin"])
    assert not authorizer.decide(forged).allowed
    forged = ask(principal(), "admin.principals", global_roles=["admin"])
    assert not authorizer.decide(forged).allowed


def test_unknown_action_is_denied(authorizer: Authorizer) -> None:
    decision = authorizer.decide(ask(principal(("admin", "*")), "artifact.burn"))
    assert not decision.allowed
    assert decision.reasons == ("unknown action 'artifact.burn'",)


def test_disabled_principal_is_denied_everything(authorizer: Authorizer) -> None:
    who = principal(("admin", "*"), disabled=True)
    for action in ACTIONS:
        decision = authorizer.decide(ask(who, action))
        assert not decision.allowed
        assert "disabled-principal" in decision.reasons


# --- attribute conditions -------------------------------------------------------------


@pytest.mark.parametrize("label", ["pii", "phi", "pci"])
@pytest.mark.parametrize("role", ["data-scientist", "admin"])
def test_sensitive_download_needs_otp(authorizer: Authorizer, label: str, role: str) -> None:
    who = principal((role, OWN))
    without = authorizer.decide(ask(who, "artifact.download", labels={label: "true"}))
    assert not without.allowed
    assert without.reasons == ("sensitive-download-needs-otp",)
    with_otp = ask(who, "artifact.download", labels={label: "true"}, factors=("key", "otp"))
    assert authorizer.decide(with_otp).allowed


@pytest.mark.parametrize("value", ["True", "yes", "1", ""])
def test_any_sensitivity_value_but_false_counts(authorizer: Authorizer, value: str) -> None:
    who = principal(("data-scientist", OWN))
    assert not authorizer.decide(ask(who, "artifact.download", labels={"pii": value})).allowed


def test_unlabelled_or_false_labelled_download_needs_no_otp(authorizer: Authorizer) -> None:
    who = principal(("data-scientist", OWN))
    labels = {"pii": "false", "team": "vision"}
    assert authorizer.decide(ask(who, "artifact.download", labels=labels)).allowed
    assert authorizer.decide(ask(who, "artifact.download")).allowed


def test_sensitive_label_does_not_restrict_reading_metadata(authorizer: Authorizer) -> None:
    who = principal(("viewer", OWN))
    assert authorizer.decide(ask(who, "artifact.read", labels={"pii": "true"})).allowed


@pytest.mark.parametrize(
    ("hour", "allowed"), [(0, False), (6, False), (7, True), (18, True), (19, False), (23, False)]
)
def test_delete_only_during_office_hours(authorizer: Authorizer, hour: int, allowed: bool) -> None:
    decision = authorizer.decide(ask(principal(("admin", "*")), "artifact.delete", hour=hour))
    assert decision.allowed == allowed
    if not allowed:
        assert decision.reasons == ("delete-office-hours",)


@pytest.mark.parametrize("hour", ["10", 24, -1, True, 10.0])
def test_malformed_hour_is_denied(authorizer: Authorizer, hour: object) -> None:
    decision = authorizer.decide(ask(principal(("admin", "*")), "artifact.delete", hour=hour))
    assert not decision.allowed
    assert "hour" in decision.reasons[0]


@pytest.mark.parametrize("stage", ["dev", "staging", "production"])
@pytest.mark.parametrize("role", ["approver", "admin"])
def test_nobody_approves_their_own_upload(authorizer: Authorizer, stage: str, role: str) -> None:
    who = principal((role, OWN), name="carol")
    own = authorizer.decide(ask(who, "model.promote.approve", creator="carol", stage=stage))
    assert not own.allowed
    assert "no-self-approval" in own.reasons
    other = authorizer.decide(ask(who, "model.promote.approve", creator="dave", stage=stage))
    assert other.allowed


def test_approval_without_a_recorded_creator_is_denied(authorizer: Authorizer) -> None:
    request = ask(principal(("approver", OWN)), "model.promote.approve")
    request = AccessRequest(**{**request.__dict__, "attributes": {"stage": "staging"}})
    assert not authorizer.decide(request).allowed


def test_context_values_cedar_cannot_hold_are_denied(authorizer: Authorizer) -> None:
    decision = authorizer.decide(ask(principal(("viewer", OWN)), "artifact.read", extra=1.5))
    assert not decision.allowed
    assert "extra" in decision.reasons[0]


# --- policy files ---------------------------------------------------------------------


def bundled_policies(target: Path) -> None:
    data = resources.files("mlwarden.policy").joinpath("data")
    for item in data.iterdir():
        if item.name.endswith(".cedar"):
            (target / item.name).write_text(item.read_text("utf-8"), "utf-8")


def test_bundled_policies_validate_against_the_schema(authorizer: Authorizer) -> None:
    assert authorizer.schema_errors() == ()
    text = "\n".join(
        p.read_text("utf-8")
        for p in resources.files("mlwarden.policy").joinpath("data").iterdir()
        if p.name.endswith(".cedar")
    )
    result = cedarpy.validate_policies(text, bundled_schema())
    assert result.validation_passed, result.errors


def test_schema_catches_a_policy_reading_a_misspelt_attribute(tmp_path: Path) -> None:
    (tmp_path / "typo.cedar").write_text(
        '@id("typo")\npermit (principal, action == Action::"artifact.read", resource)\n'
        'when { principal.nmae == "alice" };\n'
    )
    assert Authorizer(tmp_path).schema_errors()


def test_policy_dir_replaces_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "mine.cedar").write_text(
        "// viewers may download here\n"
        '@id("viewer-download")\n'
        'permit (principal, action == Action::"artifact.download", resource)\n'
        'when { context.roles.contains("viewer") };'  # no trailing newline on purpose
    )
    (tmp_path / "notes.txt").write_text("not a policy")
    custom = Authorizer(tmp_path)
    assert custom.sources == (str(tmp_path / "mine.cedar"),)
    decision = custom.decide(ask(principal(("viewer", OWN)), "artifact.download"))
    assert decision == decision.__class__(True, ("viewer-download",))
    # The bundled grants are gone: a data scientist may no longer read.
    assert not custom.decide(ask(principal(("data-scientist", OWN)), "artifact.read")).allowed


def test_extending_the_defaults_cannot_lift_the_production_rule(tmp_path: Path) -> None:
    bundled_policies(tmp_path)
    (tmp_path / "zz-extra.cedar").write_text(
        '@id("scientists-approve")\n'
        'permit (principal, action == Action::"model.promote.approve", resource)\n'
        'when { context.roles.contains("data-scientist") };\n'
    )
    custom = Authorizer(tmp_path)
    who = principal(("data-scientist", OWN))
    staging = custom.decide(ask(who, "model.promote.approve", stage="staging"))
    assert staging == staging.__class__(True, ("scientists-approve",))
    production = custom.decide(ask(who, "model.promote.approve", stage="production"))
    assert production == production.__class__(False, ("production-approval-roles",))
    unknown_stage = ask(who, "model.promote.approve")
    unknown_stage = AccessRequest(**{**unknown_stage.__dict__, "attributes": {"creator": "bob"}})
    assert not custom.decide(unknown_stage).allowed


def test_a_forbid_that_errors_denies_instead_of_being_skipped(tmp_path: Path) -> None:
    # Cedar alone would skip the erroring forbid and allow; the authorizer must not.
    (tmp_path / "p.cedar").write_text(
        '@id("everyone")\npermit (principal, action, resource);\n'
        '@id("broken-forbid")\n'
        "forbid (principal, action, resource) when { resource.missing == 1 };\n"
    )
    decision = Authorizer(tmp_path).decide(ask(principal(), "artifact.read"))
    assert not decision.allowed
    assert decision.reasons[0].startswith("policy error:")


def test_broken_policy_file_names_the_file(tmp_path: Path) -> None:
    bundled_policies(tmp_path)
    broken = tmp_path / "broken.cedar"
    broken.write_text("permit (principal, action, resource) when { ; };\n")
    with pytest.raises(UsageError) as caught:
        Authorizer(tmp_path)
    assert caught.value.subject == str(broken)
    assert "Cedar" in caught.value.problem


def test_policy_dir_without_policies_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no \*\.cedar files"):
        Authorizer(tmp_path)
    with pytest.raises(UsageError, match="not a directory"):
        Authorizer(tmp_path / "missing")


def test_non_utf8_policy_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "latin1.cedar").write_bytes(b"// caf\xe9\n")
    with pytest.raises(UsageError, match="UTF-8"):
        Authorizer(tmp_path)


def test_bundled_files_copy_to_an_equivalent_policy_dir(tmp_path: Path) -> None:
    bundled_policies(tmp_path)
    copied, default = Authorizer(tmp_path), Authorizer()
    who = principal(("approver", OWN))
    for action in ACTIONS:
        assert copied.decide(ask(who, action)) == default.decide(ask(who, action))
