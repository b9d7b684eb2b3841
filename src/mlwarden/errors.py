"""One exception hierarchy for mlwarden.

User-facing messages name the input, the problem and the fix; the CLI maps every
:class:`UsageError` to exit code 2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlwarden.findings import Finding


class MlwardenError(Exception):
    """Base class of every error mlwarden raises on purpose."""


class UsageError(MlwardenError):
    """Bad input or arguments: the CLI exits with code 2.

    ``subject`` names the file or option, ``problem`` says what is wrong and ``fix`` what
    the user can do about it.
    """

    def __init__(self, subject: str, problem: str, fix: str) -> None:
        self.subject = subject
        self.problem = problem
        self.fix = fix
        super().__init__(f"{subject}: {problem}. {fix}")


class ConfigError(UsageError):
    """A configuration file or value is invalid."""


class UnsafeModelError(MlwardenError):
    """Raised by :func:`mlwarden.safe_load` when a file is not clean enough to load."""

    def __init__(self, path: str, findings: list[Finding]) -> None:
        self.path = path
        self.findings = findings
        worst = ", ".join(f"{f.rule_id} {f.title}" for f in findings[:3])
        more = f" (+{len(findings) - 3} more)" if len(findings) > 3 else ""
        super().__init__(
            f"{path}: refused to load, the scan found {len(findings)} blocking finding(s): "
            f"{worst}{more}. Inspect it with `mlwarden scan {path}`."
        )
