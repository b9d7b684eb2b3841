"""What each ML service answers to an anonymous client, and what that means.

Each probe makes a few GETs against documented, read-only endpoints and recognises the
service by the *shape* of its JSON answer, never by status code alone: a catch-all web
server that answers 200 to every path must not look like an open Jupyter. A 401/403
on a recognised endpoint is recorded as an informational finding (the service is there
and asks for credentials). Evidence describes answers (status, counts, versions); it never
copies response bodies, which may hold file names, run parameters or tokens.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from mlwarden.findings import Finding, Location, Rule, Severity
from mlwarden.probe.http_fetch import Answer
from mlwarden.taxonomy import (
    ATLAS_EXPLOIT_PUBLIC_APP,
    CWE_CLEARTEXT_TRANSMISSION,
    CWE_CODE_INJECTION,
    CWE_MISSING_AUTHENTICATION,
)

MLFLOW_OPEN = Rule(
    "MLW-PRB-001",
    "MLflow tracking API answers without authentication",
    Severity.HIGH,
    "Enable MLflow authentication (`--app-name basic-auth`) or put an authenticating proxy in "
    "front, and do not expose the server beyond the clients that need it.",
    (CWE_MISSING_AUTHENTICATION, ATLAS_EXPLOIT_PUBLIC_APP),
)
MLFLOW_ARTIFACTS_OPEN = Rule(
    "MLW-PRB-002",
    "MLflow artifact proxy answers without authentication",
    Severity.HIGH,
    "Enable authentication or start the server with `--no-serve-artifacts`; anonymous "
    "clients can otherwise download and upload model files.",
    (CWE_MISSING_AUTHENTICATION, ATLAS_EXPLOIT_PUBLIC_APP),
)
JUPYTER_OPEN = Rule(
    "MLW-PRB-010",
    "Jupyter API answers without a token",
    Severity.CRITICAL,
    "Stop the server and restart it with a token or password (never `--ServerApp.token=''`); "
    "treat the host as compromised if it was reachable from untrusted networks.",
    (CWE_MISSING_AUTHENTICATION, CWE_CODE_INJECTION, ATLAS_EXPLOIT_PUBLIC_APP),
)
RAY_JOBS_OPEN = Rule(
    "MLW-PRB-020",
    "Ray Jobs API answers without authentication",
    Severity.CRITICAL,
    "Enable Ray token authentication (RAY_AUTH_MODE=token) and firewall the dashboard port; "
    "anyone reaching it can submit jobs that run shell commands on the cluster.",
    (CWE_MISSING_AUTHENTICATION, CWE_CODE_INJECTION, ATLAS_EXPLOIT_PUBLIC_APP),
)
RAY_DASHBOARD_OPEN = Rule(
    "MLW-PRB-021",
    "Ray dashboard answers without authentication",
    Severity.MEDIUM,
    "Enable Ray token authentication (RAY_AUTH_MODE=token) and keep the dashboard on "
    "loopback or behind an authenticating proxy.",
    (CWE_MISSING_AUTHENTICATION,),
)
DASK_DASHBOARD_OPEN = Rule(
    "MLW-PRB-025",
    "Dask dashboard answers without authentication",
    Severity.MEDIUM,
    "Bind the dashboard to loopback or put it behind an authenticating proxy, and run the "
    "scheduler over TLS with client certificates.",
    (CWE_MISSING_AUTHENTICATION,),
)
TORCHSERVE_MANAGEMENT_OPEN = Rule(
    "MLW-PRB-030",
    "TorchServe management API answers without authentication",
    Severity.CRITICAL,
    "Bind management_address to 127.0.0.1 and enable token authorization; the management "
    "API registers model archives, which run Python handler code.",
    (CWE_MISSING_AUTHENTICATION, CWE_CODE_INJECTION, ATLAS_EXPLOIT_PUBLIC_APP),
)
TRITON_OPEN = Rule(
    "MLW-PRB-040",
    "Triton Inference Server answers without authentication",
    Severity.MEDIUM,
    "Restrict the model-repository and other admin APIs (`--http-restricted-api`), avoid "
    "--model-control-mode=explicit on exposed ports, and put a gateway in front.",
    (CWE_MISSING_AUTHENTICATION,),
)
INFERENCE_OPEN = Rule(
    "MLW-PRB-045",
    "Model inference endpoint lists its models without authentication",
    Severity.MEDIUM,
    "Require authentication at the serving gateway (KServe enable-auth, an Istio "
    "AuthorizationPolicy, or an API gateway).",
    (CWE_MISSING_AUTHENTICATION,),
)
AUTH_REQUIRED = Rule(
    "MLW-PRB-090",
    "ML service found; it asks for credentials",
    Severity.INFO,
    "Nothing to fix; make sure the credentials are strong and the traffic uses https.",
)
PLAINTEXT = Rule(
    "MLW-PRB-091",
    "ML service answers over plaintext HTTP",
    Severity.LOW,
    "Serve it over https (or only on loopback): tokens and model data cross the network "
    "readable and modifiable.",
    (CWE_CLEARTEXT_TRANSMISSION,),
)
RULES = (
    MLFLOW_OPEN,
    MLFLOW_ARTIFACTS_OPEN,
    JUPYTER_OPEN,
    RAY_JOBS_OPEN,
    RAY_DASHBOARD_OPEN,
    DASK_DASHBOARD_OPEN,
    TORCHSERVE_MANAGEMENT_OPEN,
    TRITON_OPEN,
    INFERENCE_OPEN,
    AUTH_REQUIRED,
    PLAINTEXT,
)

Get = Callable[[str], Answer | None]
"""GET a path under the target; ``None`` when the request failed."""

_MISSING = object()


@dataclass
class ServiceReport:
    """What one probe concluded."""

    service: str
    findings: list[Finding] = field(default_factory=list)
    identified: bool = False

    def add(self, rule: Rule, answer: Answer, evidence: str) -> None:
        self.identified = True
        self.findings.append(rule.finding(Location(answer.url), evidence))


def _json(answer: Answer | None) -> object:
    if answer is None or answer.status != 200 or answer.truncated:
        return _MISSING
    try:
        return json.loads(answer.body)
    except (ValueError, RecursionError):
        return _MISSING


def _denied(answer: Answer | None) -> bool:
    return answer is not None and answer.status in (401, 403)


def _auth_required(report: ServiceReport, answer: Answer, what: str) -> None:
    report.add(AUTH_REQUIRED, answer, f"{what}: GET answered {answer.status}")


def probe_mlflow(get: Get) -> ServiceReport:
    report = ServiceReport("mlflow")
    answer = get("/api/2.0/mlflow/experiments/search?max_results=1")
    data = _json(answer)
    if answer is None:
        return report
    if isinstance(data, dict) and isinstance(data.get("experiments", _MISSING), list):
        report.add(MLFLOW_OPEN, answer, "experiments/search answered 200 with experiments")
        artifacts = get("/api/2.0/mlflow-artifacts/artifacts")
        listing = _json(artifacts)
        if artifacts is not None and isinstance(listing, dict) and set(listing) <= {"files"}:
            report.add(MLFLOW_ARTIFACTS_OPEN, artifacts, "artifact listing answered 200")
    elif _denied(answer) and "mlflow" in str(answer.headers).lower():
        _auth_required(report, answer, "MLflow")
    return report


def probe_jupyter(get: Get) -> ServiceReport:
    report = ServiceReport("jupyter")
    # `/api` answers every client with the server version: it identifies Jupyter, so an
    # empty list from a server that answers `[]` to everything is not taken for kernels.
    about = _json(get("/api"))
    if not isinstance(about, dict) or not isinstance(about.get("version"), str):
        return report
    label = f"Jupyter Server {about['version']}"
    kernels = get("/api/kernels")
    data = _json(kernels)
    if kernels is not None and isinstance(data, list) and all(isinstance(k, dict) for k in data):
        report.add(JUPYTER_OPEN, kernels, f"{label}: /api/kernels listed {len(data)} kernels")
        return report
    contents = get("/api/contents")
    listing = _json(contents)
    if contents is not None and isinstance(listing, dict) and listing.get("type") == "directory":
        report.add(JUPYTER_OPEN, contents, f"{label}: /api/contents listed a directory")
    elif kernels is not None and _denied(kernels):
        _auth_required(report, kernels, label)
    return report


def probe_ray(get: Get) -> ServiceReport:
    report = ServiceReport("ray")
    version_answer = get("/api/version")
    version = _json(version_answer)
    if version_answer is None:
        return report
    if not isinstance(version, dict) or "ray_version" not in version:
        if _denied(version_answer):
            jobs = get("/api/jobs/")
            if jobs is not None and _denied(jobs):
                _auth_required(report, jobs, "Ray dashboard")
        return report
    label = f"Ray {version.get('ray_version')}"
    jobs = get("/api/jobs/")
    listing = _json(jobs)
    if jobs is not None and isinstance(listing, list):
        report.add(RAY_JOBS_OPEN, jobs, f"{label}: /api/jobs/ answered 200 ({len(listing)} jobs)")
    elif jobs is not None and _denied(jobs):
        _auth_required(report, jobs, f"{label} Jobs API")
    else:
        report.add(RAY_DASHBOARD_OPEN, version_answer, f"{label}: /api/version answered 200")
    return report


def probe_dask(get: Get) -> ServiceReport:
    report = ServiceReport("dask")
    answer = get("/json/identity.json")
    data = _json(answer)
    if answer is not None and isinstance(data, dict) and data.get("type") == "Scheduler":
        address = str(data.get("address", ""))
        plain = " over plaintext tcp://" if address.startswith("tcp://") else ""
        report.add(
            DASK_DASHBOARD_OPEN,
            answer,
            f"identity.json answered 200: a scheduler listening{plain}",
        )
    return report


def probe_torchserve(get: Get) -> ServiceReport:
    report = ServiceReport("torchserve")
    answer = get("/models")
    data = _json(answer)
    if answer is not None and isinstance(data, dict) and isinstance(data.get("models"), list):
        models = data["models"]
        report.add(
            TORCHSERVE_MANAGEMENT_OPEN, answer, f"/models answered 200 listing {len(models)} models"
        )
    elif (
        # TorchServe answers a missing token with 400 "Token Authorization failed".
        answer is not None
        and answer.status in (400, 401, 403)
        and b"token authorization" in answer.body[:2_000].lower()
    ):
        _auth_required(report, answer, "TorchServe management API")
    return report


def probe_triton(get: Get) -> ServiceReport:
    report = ServiceReport("triton")
    answer = get("/v2")
    data = _json(answer)
    if answer is not None and isinstance(data, dict) and data.get("name") == "triton":
        extensions = data.get("extensions")
        repo = isinstance(extensions, list) and "model_repository" in extensions
        note = "; it advertises the model_repository extension" if repo else ""
        report.add(TRITON_OPEN, answer, f"/v2 answered 200 (Triton {data.get('version')}){note}")
    return report


def probe_inference(get: Get) -> ServiceReport:
    report = ServiceReport("inference")
    for path in ("/v2/models", "/v1/models"):
        answer = get(path)
        data = _json(answer)
        if answer is not None and isinstance(data, dict) and isinstance(data.get("models"), list):
            count = len(data["models"])
            report.add(INFERENCE_OPEN, answer, f"{path} answered 200 listing {count} models")
            break
    return report


PROBES: tuple[Callable[[Get], ServiceReport], ...] = (
    probe_mlflow,
    probe_jupyter,
    probe_ray,
    probe_dask,
    probe_torchserve,
    probe_triton,
    probe_inference,
)
"""Every service probe, in the order they run."""
