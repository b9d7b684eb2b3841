"""Start-up fast path for the common `mlwarden scan PATH... [options]` invocation.

Importing typer (and click) costs several times more than scanning a checkpoint's pickle,
so plain scan invocations are parsed here without it. Anything this parser does not
recognise exactly (help, unknown or malformed options) returns None and goes to the typer
application, which owns the CLI's definition, help text and error messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_VALUE_OPTIONS = {
    "--format": "format",
    "-f": "format",
    "--output": "output",
    "-o": "output",
    "--fail-on": "fail_on",
    "--config": "config",
    "--allow-global": "allow_global",
    "--timeout": "timeout",
    "--baseline": "baseline",
    "--write-baseline": "write_baseline",
}
_FLAGS = {
    "--digest": ("digest", True),
    "--no-digest": ("digest", False),
    "--progress": ("progress", True),
    "--no-progress": ("progress", False),
}


def parse_scan_argv(argv: list[str]) -> dict[str, Any] | None:
    """Keyword arguments for ``run_scan``, or None to let typer handle ``argv``."""
    if not argv or argv[0] != "scan":
        return None
    options: dict[str, Any] = {"paths": []}
    args = iter(argv[1:])
    for arg in args:
        name, eq, inline = arg.partition("=")
        if name in _VALUE_OPTIONS:
            value = inline if eq else next(args, None)
            if value is None or (not eq and value.startswith("-") and value != "-"):
                return None
            key = _VALUE_OPTIONS[name]
            if key == "allow_global":
                options.setdefault(key, []).append(value)
            elif key in options:
                return None
            else:
                options[key] = value
        elif arg in _FLAGS:
            key, flag = _FLAGS[arg]
            options[key] = flag
        elif arg == "-" or not arg.startswith("-"):
            options["paths"].append(arg)
        else:
            return None
    if not options["paths"]:
        return None
    if "output" in options:
        options["output"] = Path(options["output"])
    if "timeout" in options:
        try:
            options["timeout"] = float(options["timeout"])
        except ValueError:
            return None
    return options
