"""``mlwarden serve``: the registry API, guarded serving and the dashboard over TLS."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mlwarden.errors import UsageError

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Workspace folder (default: $MLWARDEN_HOME or ~/.mlwarden)."),
]


def serve(
    home: HomeOption = None,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to bind.")] = 8443,
    cert: Annotated[Path | None, typer.Option(help="TLS certificate chain (PEM).")] = None,
    key: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    client_ca: Annotated[
        Path | None,
        typer.Option(help="CA bundle for client certificates (enables mTLS; optional certs)."),
    ] = None,
    require_client_cert: Annotated[
        bool, typer.Option(help="With --client-ca: refuse connections without a client cert.")
    ] = False,
    dev: Annotated[
        bool,
        typer.Option(help="Loopback only, with a self-signed certificate made for this workspace."),
    ] = False,
    plain_http: Annotated[
        bool,
        typer.Option(help="Loopback only: no TLS at all (local benchmarks and debugging)."),
    ] = False,
    config: Annotated[
        Path | None, typer.Option(help="File with a [server] table (default: the workspace's).")
    ] = None,
) -> None:
    """Serve the registry API, promoted models and the dashboard. TLS unless --plain-http
    on loopback; every request is authenticated (create the first admin with
    `mlwarden users bootstrap-admin`)."""
    import ssl

    import uvicorn

    from mlwarden.cli.vault_cmds import _credential
    from mlwarden.server.app import create_app
    from mlwarden.server.context import open_context
    from mlwarden.server.settings import load_server_settings
    from mlwarden.server.tls import client_cert_protocol, dev_certificate, is_loopback
    from mlwarden.workspace import CONFIG_NAME, default_home

    root = home or default_home()
    if (dev or plain_http) and not is_loopback(host):
        raise UsageError(
            f"--host {host}",
            "--dev and --plain-http bind loopback only",
            "use 127.0.0.1, or give --cert and --key for a real address",
        )
    if dev and cert is None:
        cert, key = dev_certificate(root)
    if not plain_http and (cert is None or key is None):
        raise UsageError(
            "serve",
            "no TLS certificate and key",
            "pass --cert and --key, or --dev for a loopback self-signed pair",
        )
    if plain_http and cert is not None:
        raise UsageError("--plain-http", "contradicts --cert", "drop one of them")
    if client_ca is not None and plain_http:
        raise UsageError("--client-ca", "needs TLS", "drop --plain-http")
    settings = load_server_settings(config or root / CONFIG_NAME)
    ctx = open_context(root, _credential(), settings)
    if not any(p.has_global("admin") for p in ctx.identity.list_principals()):
        print(
            "warning: no admin exists yet; run `mlwarden users bootstrap-admin NAME`",
            file=sys.stderr,
        )
    app = create_app(ctx)
    options: dict[str, object] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "server_header": False,
        "proxy_headers": False,
        "timeout_keep_alive": 5,
        "limit_concurrency": max(256, settings.max_in_flight * 4),
    }
    if not plain_http:
        options.update(ssl_certfile=str(cert), ssl_keyfile=str(key))
    if client_ca is not None:
        options.update(
            ssl_ca_certs=str(client_ca),
            ssl_cert_reqs=ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL,
            http=client_cert_protocol(),
        )
    scheme = "http" if plain_http else "https"
    print(f"mlwarden serving {scheme}://{host}:{port}/ (dashboard at /ui/)", file=sys.stderr)
    uvicorn.run(app, **options)  # type: ignore[arg-type]
