"""The body of ``mlwarden mask INPUT -o OUTPUT --policy FILE``: parse, call, render.

Exit codes: 0 the masked copy was written, 2 usage or input error (nothing was written).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from mlwarden.errors import UsageError
from mlwarden.masking.summary import MaskSummary

if TYPE_CHECKING:
    from mlwarden.masking.keys import KeySource


def mask_command(
    input: str,
    output: str,
    policy: str | None = None,
    key_file: str | None = None,
    format: str | None = None,
    dataset: str | None = None,
    force: bool = False,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Mask ``input`` into ``output`` and print a summary; return the exit code.

    ``policy`` is a YAML masking policy (default: detect every entity, pseudonymise
    identifiers, redact the rest). The key comes from ``key_file`` or ``$MLWARDEN_MASK_KEY``
    and is read only when the policy needs one. ``format`` overrides the format implied by
    the file name; ``dataset`` selects a policy section; ``force`` replaces an existing
    output file.
    """
    from mlwarden.masking.engine import mask_file
    from mlwarden.masking.policy import default_policy, load_policy

    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        chosen = load_policy(policy) if policy is not None else default_policy()
        summary = mask_file(
            input,
            output,
            chosen,
            key_source=_key_source(key_file),
            format=format,
            dataset=dataset,
            overwrite=force,
        )
    except UsageError as exc:
        print(f"mlwarden: error: {exc}", file=err)
        return 2
    except OSError as exc:
        where = exc.filename or input
        print(f"mlwarden: error: {where}: {exc.strerror or exc}", file=err)
        return 2
    out.write(render_summary(summary))
    out.flush()
    return 0


def _key_source(key_file: str | None) -> KeySource:
    """``--key-file``, else ``$MLWARDEN_MASK_KEY``, else a key derived from the workspace
    keyring (stable across KEK rotations), so pseudonyms match across runs and machines
    that share the workspace."""
    import os

    from mlwarden.masking.keys import ENV_VAR, choose_key_source, derived_key_source

    if key_file is not None or os.environ.get(ENV_VAR):
        return choose_key_source(key_file)

    def derive(purpose: str) -> bytes:
        from mlwarden.store.crypto.keyring_file import FileKeyring
        from mlwarden.workspace import (
            credential_from_environment,
            default_home,
            load_config,
        )

        home = default_home()
        if not (home / "config.toml").is_file():
            raise UsageError(
                "pseudonymisation key",
                f"none was given and there is no workspace at {home} to derive one from",
                f"pass --key-file, set {ENV_VAR} (32+ random bytes, hex or base64), "
                "or create a workspace with `mlwarden init`",
            )
        cfg = load_config(home)
        cred = credential_from_environment(None, new=False)
        keyring = FileKeyring.open(cfg.keyring_path, passphrase=cred.passphrase, secret=cred.secret)
        return keyring.derive_key(purpose)

    return derived_key_source(derive, purpose="mask")


def render_summary(summary: MaskSummary) -> str:
    """A short plain-text table of what was replaced; never shows a value."""
    scope = f", dataset {summary.dataset}" if summary.dataset else ""
    lines = [
        f"masked {summary.input} -> {summary.output} ({summary.format}, {summary.rows} rows{scope})"
    ]
    if summary.replacements:
        rows = [(t, op, str(n)) for (t, op), n in summary.replacements.items()]
        header = ("replaced", "operator", "count")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
        for row in [header, *rows]:
            lines.append(f"  {row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}")
    else:
        lines.append("  nothing needed masking")
    if summary.classified_columns:
        found = ", ".join(f"{c} ({e})" for c, e in summary.classified_columns.items())
        lines.append(f"  masked whole by classification: {found}")
    if summary.dropped_columns:
        lines.append(f"  dropped columns: {', '.join(summary.dropped_columns)}")
    return "\n".join(lines) + "\n"
