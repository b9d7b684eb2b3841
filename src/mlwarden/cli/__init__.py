"""The command-line face: parse arguments, call the engine, render.

``main`` is the console script. It avoids importing typer for plain scan invocations
(see :mod:`mlwarden.cli.fast_path`); everything else goes to the typer app in
:mod:`mlwarden.cli.app`.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Console-script entry point."""
    from mlwarden.cli.fast_path import parse_scan_argv

    options = parse_scan_argv(sys.argv[1:])
    if options is not None:
        from mlwarden.cli.scan_run import run_scan

        sys.exit(run_scan(**options))
    from mlwarden.cli.app import app
    from mlwarden.errors import MlwardenError

    try:
        app()
    except MlwardenError as exc:
        # Usage, input and integrity errors name the subject, the problem and the fix.
        print(f"mlwarden: error: {exc}", file=sys.stderr)
        sys.exit(2)
