"""Validation of principal, group and project names, roles and binding subjects.

Names are lowercase so that ``Alice`` and ``alice`` can never be two principals, and they
carry no ``:`` or ``/``, so a name can sit inside ``group:NAME``, a URI or a Cedar entity id
without escaping.
"""

from __future__ import annotations

import re

from mlwarden.errors import UsageError
from mlwarden.identity.model import ALL_PROJECTS, PRINCIPAL_KINDS, ROLES

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
"""Principal, group and project names: 1-63 characters."""

GROUP_PREFIX = "group:"
"""A binding subject naming a group rather than a principal."""

_NAME_FIX = "use 1-63 characters from a-z, 0-9, '.', '_' and '-', starting with a letter or digit"


def is_valid_name(value: str) -> bool:
    """Whether ``value`` is a well-formed principal, group or project name."""
    return NAME_PATTERN.fullmatch(value) is not None


def check_name(value: str, what: str = "principal name") -> str:
    """``value`` if it is a well-formed name, else :class:`UsageError` naming ``what``."""
    if not is_valid_name(value):
        raise UsageError(f"{what} {value[:80]!r}", "is not a valid name", _NAME_FIX)
    return value


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`, else :class:`UsageError`."""
    if role not in ROLES:
        raise UsageError(f"role {role[:80]!r}", "is not a role", f"use one of {', '.join(ROLES)}")
    return role


def check_kind(kind: str) -> str:
    """``kind`` if it is a principal kind (``user`` or ``service``), else :class:`UsageError`."""
    if kind not in PRINCIPAL_KINDS:
        raise UsageError(
            f"principal kind {kind[:80]!r}", "is unknown", f"use {' or '.join(PRINCIPAL_KINDS)}"
        )
    return kind


def check_binding_project(project: str) -> str:
    """A project name, or ``"*"`` for every project."""
    return project if project == ALL_PROJECTS else check_name(project, "project")


def parse_subject(subject: str) -> tuple[str, str]:
    """Split a binding subject into ``("principal", NAME)`` or ``("group", NAME)``."""
    if subject.startswith(GROUP_PREFIX):
        return "group", check_name(subject[len(GROUP_PREFIX) :], "group")
    return "principal", check_name(subject)
