"""Route each simple command to the checks of the program it starts.

Every context that holds commands (shell scripts, Dockerfile ``RUN``/``CMD``/``ENTRYPOINT``,
Kubernetes ``command``/``args``, Compose ``command``/``entrypoint``, supervisord
``command=``) parses them with :mod:`shell_parser` and hands them here, so a given launch
line is judged the same wherever it is written.
"""

from __future__ import annotations

from mlwarden.findings import Rule, Severity
from mlwarden.scanners.config import (
    dask_checks,
    jupyter_checks,
    mlflow_checks,
    ray_checks,
    supply_chain_checks,
    torchserve_checks,
    triton_checks,
)
from mlwarden.scanners.config.collector import CommandSite
from mlwarden.scanners.config.secret_names import redact_argv
from mlwarden.scanners.config.shell_parser import ShellScript, SimpleCommand

_JUPYTER_SUBCOMMANDS = frozenset({"notebook", "lab", "server", "nbclassic"})
_JUPYTER_PROGRAMS = frozenset({"jupyter-lab", "jupyter-notebook", "jupyter-server"})


def check_command(cmd: SimpleCommand, site: CommandSite) -> None:
    """Run the checks that apply to ``cmd`` (launch checks and supply-chain checks)."""
    site = site.with_env(dict(cmd.env))
    prog = cmd.program
    argv = cmd.argv
    sub = argv[1] if len(argv) > 1 else ""
    if prog == "mlflow" and sub in ("server", "ui"):
        mlflow_checks.check_server(argv, argv[2:], site)
    elif prog == "jupyter" and sub in _JUPYTER_SUBCOMMANDS:
        _jupyter(argv, argv[2:], site, "localhost")
    elif prog in _JUPYTER_PROGRAMS:
        _jupyter(argv, argv[1:], site, "localhost")
    elif prog in jupyter_checks.DOCKER_STACKS_LAUNCHERS:
        _jupyter(argv, argv[1:], site, "0.0.0.0")
    elif prog == "ray" and sub == "start":
        ray_checks.check_start(argv, argv[2:], site)
    elif (prog == "dask" and sub == "scheduler") or prog == "dask-scheduler":
        dask_checks.check_scheduler(argv, argv[2:] if prog == "dask" else argv[1:], site)
    elif (prog == "dask" and sub == "worker") or prog == "dask-worker":
        dask_checks.check_worker(argv, argv[2:] if prog == "dask" else argv[1:], site)
    elif prog == "torchserve":
        torchserve_checks.check_launch(argv, argv[1:], site.collector, site.line)
    elif prog == "tritonserver":
        triton_checks.check_launch(argv, argv[1:], site)
    supply_chain_checks.check_command(cmd, site)


def _jupyter(argv: tuple[str, ...], args: tuple[str, ...], site: CommandSite, ip: str) -> None:
    settings = jupyter_checks.cli_settings(args, site.line)

    def emit(rule: Rule, evidence: str, _line: int | None, severity: Severity | None) -> None:
        site.report(rule, evidence, severity)

    jupyter_checks.judge(settings, emit, default_ip=ip, label=f"`{redact_argv(argv)}`")


def check_script(script: ShellScript, site: CommandSite) -> None:
    """Check every command and raw line of a parsed script; ``site.line`` is ignored in
    favour of each command's own line."""
    for line, text in script.lines:
        supply_chain_checks.check_line(line, text, site.collector)
    for cmd in script.commands:
        site.collector.tick()
        check_command(cmd, site.at_line(cmd.line))
