"""The body of ``mlwarden mask INPUT -o OUTPUT --policy FILE``: parse, call, render.

Exit codes: 0 the masked copy was written, 2 usage or input error (nothing was written).
"""

from __future__ import annotations

import sys
from typing import TextIO

from mlwarden.errors import UsageError
from mlwarden.masking.summary import MaskSummary


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
    from mlwarden.masking.keys import default_key_source
    from mlwarden.masking.policy import default_policy, load_policy

    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        chosen = load_policy(policy) if policy is not None else default_policy()
        summary = mask_file(
            input,
            output,
            chosen,
            key_source=default_key_source(key_file),
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
