"""Environment variables that configure ML services insecurely.

Variables reach services from many places (``.env`` files, Dockerfile ``ENV``, Kubernetes
``env``, Compose ``environment``, ``export`` in scripts); each of those readers calls
:func:`check_variable` for every literal ``NAME=value`` it finds.
"""

from __future__ import annotations

from mlwarden.scanners.config import dask_checks, mlflow_checks, ray_checks, torchserve_checks
from mlwarden.scanners.config.addresses import is_plaintext_remote
from mlwarden.scanners.config.collector import CommandSite
from mlwarden.scanners.config.command_options import parse_bool
from mlwarden.scanners.config.secret_names import redact
from mlwarden.scanners.config.supply_chain_checks import PIP_INDEX, TLS_VERIFICATION_OFF

# Variables whose truthy value switches certificate verification off.
_INSECURE_WHEN_TRUE = frozenset(
    {"MLFLOW_TRACKING_INSECURE_TLS", "GIT_SSL_NO_VERIFY", "UV_INSECURE_HOST_ALL"}
)
# Variables whose value "0" / "false" switches it off.
_INSECURE_WHEN_FALSE = frozenset({"PYTHONHTTPSVERIFY", "NODE_TLS_REJECT_UNAUTHORIZED"})


def check_variable(name: str, value: str, site: CommandSite) -> None:
    """Report ``name=value`` when it weakens an ML service or a download."""
    text = value.strip().strip("'\"")
    upper = name.upper()
    if upper == "RAY_DASHBOARD_HOST":
        ray_checks.check_dashboard_env(text, site)
    elif upper in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_ARTIFACTS_DESTINATION"):
        if is_plaintext_remote(text):
            site.report(mlflow_checks.PLAINTEXT_URI, f"{name}={redact(text)}")
    elif upper in ("MLFLOW_SERVER_ALLOWED_HOSTS", "MLFLOW_SERVER_CORS_ALLOWED_ORIGINS"):
        if "*" in [v.strip() for v in text.split(",")]:
            site.report(mlflow_checks.PROTECTIONS_OFF, f"{name}={text}")
    elif upper == "MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE":
        if parse_bool(text) is True:
            site.report(mlflow_checks.PROTECTIONS_OFF, f"{name}={text}")
    elif upper == "DASK_SCHEDULER_ADDRESS":
        dask_checks.check_address(name, text, site)
    elif upper == "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION":
        if parse_bool(text) is False:
            site.report(dask_checks.PLAINTEXT_TRAFFIC, f"{name}={text}")
    elif upper == "TS_DISABLE_TOKEN_AUTHORIZATION":
        torchserve_checks.check_env(name, text, site.collector, site.line)
    elif upper in ("PIP_EXTRA_INDEX_URL", "UV_EXTRA_INDEX_URL") and text:
        site.report(PIP_INDEX, f"{name}={redact(text)}")
    elif upper in ("PIP_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX"):
        if is_plaintext_remote(text):
            site.report(PIP_INDEX, f"{name}={redact(text)} (plaintext)")
    elif _switches_verification_off(upper, text):
        site.report(TLS_VERIFICATION_OFF, f"{name}={text}")


def _switches_verification_off(name: str, value: str) -> bool:
    if name in ("PIP_TRUSTED_HOST", "UV_INSECURE_HOST"):
        return bool(value)
    if name in _INSECURE_WHEN_TRUE:
        return parse_bool(value) is True
    return name in _INSECURE_WHEN_FALSE and parse_bool(value) is False
