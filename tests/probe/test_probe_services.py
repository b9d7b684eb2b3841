"""Each probe recognises its service when it answers anonymously, stays quiet when it asks
for credentials, and is not fooled by servers that answer everything."""

from __future__ import annotations

import pytest
from probe_fakes import Reply, fake_service, json_reply

from mlwarden.findings import Severity
from mlwarden.probe.probe_run import probe_url

MLFLOW_SEARCH = "/api/2.0/mlflow/experiments/search?max_results=1"
OPEN_SERVICES = {
    "mlflow": (
        {
            MLFLOW_SEARCH: json_reply({"experiments": [{"experiment_id": "0", "name": "Default"}]}),
            "/api/2.0/mlflow-artifacts/artifacts": json_reply({"files": []}),
        },
        {"MLW-PRB-001": Severity.HIGH, "MLW-PRB-002": Severity.HIGH},
    ),
    "jupyter": (
        {
            "/api": json_reply({"version": "2.14.0"}),
            "/api/kernels": json_reply([{"id": "k1", "name": "python3"}]),
        },
        {"MLW-PRB-010": Severity.CRITICAL},
    ),
    "jupyter-contents": (
        {
            "/api": json_reply({"version": "2.14.0"}),
            "/api/kernels": json_reply({"message": "nope"}, 500),
            "/api/contents": json_reply({"type": "directory", "content": []}),
        },
        {"MLW-PRB-010": Severity.CRITICAL},
    ),
    "ray": (
        {
            "/api/version": json_reply({"version": "4", "ray_version": "2.9.0"}),
            "/api/jobs/": json_reply([]),
        },
        {"MLW-PRB-020": Severity.CRITICAL},
    ),
    "ray-dashboard-only": (
        {"/api/version": json_reply({"version": "4", "ray_version": "2.9.0"})},
        {"MLW-PRB-021": Severity.MEDIUM},
    ),
    "dask": (
        {
            "/json/identity.json": json_reply(
                {"type": "Scheduler", "id": "Scheduler-1", "address": "tcp://10.0.0.5:8786"}
            )
        },
        {"MLW-PRB-025": Severity.MEDIUM},
    ),
    "torchserve": (
        {"/models": json_reply({"models": [{"modelName": "resnet", "modelUrl": "r.mar"}]})},
        {"MLW-PRB-030": Severity.CRITICAL},
    ),
    "triton": (
        {
            "/v2": json_reply(
                {"name": "triton", "version": "2.41.0", "extensions": ["model_repository"]}
            )
        },
        {"MLW-PRB-040": Severity.MEDIUM},
    ),
    "kserve": (
        {"/v1/models": json_reply({"models": ["iris"]})},
        {"MLW-PRB-045": Severity.MEDIUM},
    ),
}

DENIED = json_reply({"message": "Forbidden"}, 403)
UNAUTHORIZED = Reply(401, b"", (("WWW-Authenticate", 'Basic realm="mlflow"'),))
AUTHENTICATED_SERVICES = {
    "mlflow": {MLFLOW_SEARCH: UNAUTHORIZED, "/api/2.0/mlflow-artifacts/artifacts": UNAUTHORIZED},
    "jupyter": {
        "/api/kernels": DENIED,
        "/api/contents": DENIED,
        "/api": json_reply({"version": "2.14.0"}),
    },
    "ray": {"/api/version": json_reply({}, 401), "/api/jobs/": json_reply({}, 401)},
    "torchserve": {
        "/models": Reply(400, b'{"message": "Token Authorization failed. Token not provided"}')
    },
}


@pytest.mark.parametrize("service", sorted(OPEN_SERVICES))
def test_open_service_is_reported(service: str) -> None:
    routes, expected = OPEN_SERVICES[service]
    with fake_service(routes) as fake:  # type: ignore[arg-type]
        outcome = probe_url(fake.url, timeout=5)
    found = {f.rule_id: f.severity for f in outcome.findings}
    assert found == expected
    for finding in outcome.findings:
        assert finding.location.path.startswith(fake.url + "/")
    assert outcome.failures == []


@pytest.mark.parametrize("service", sorted(AUTHENTICATED_SERVICES))
def test_authenticated_service_is_not_reported(service: str) -> None:
    with fake_service(AUTHENTICATED_SERVICES[service]) as fake:  # type: ignore[arg-type]
        outcome = probe_url(fake.url, timeout=5)
    assert [f for f in outcome.findings if f.severity > Severity.INFO] == []
    assert [f.rule_id for f in outcome.findings] == ["MLW-PRB-090"]


# Services whose locked answers carry nothing that identifies them: nothing to report.
LOCKED_UNIDENTIFIED = {
    "dask": {"/json/identity.json": json_reply({}, 401)},
    "triton": {"/v2": json_reply({"error": "unauthorized"}, 401)},
    "kserve": {"/v1/models": DENIED, "/v2/models": DENIED},
}


@pytest.mark.parametrize("service", sorted(LOCKED_UNIDENTIFIED))
def test_locked_service_without_identity_is_not_reported(service: str) -> None:
    with fake_service(LOCKED_UNIDENTIFIED[service]) as fake:  # type: ignore[arg-type]
        outcome = probe_url(fake.url, timeout=5)
    assert outcome.findings == []


@pytest.mark.parametrize(
    "reply",
    [
        json_reply({}),
        json_reply([]),
        Reply(200, b"<html><body>Welcome</body></html>", (("Content-Type", "text/html"),)),
        json_reply({"message": "Forbidden"}, 403),
    ],
)
def test_catch_all_servers_are_not_mistaken_for_ml_services(reply: Reply) -> None:
    with fake_service({}, default=reply) as fake:
        outcome = probe_url(fake.url, timeout=5)
    assert [f for f in outcome.findings if f.severity > Severity.INFO] == []


def test_base_path_prefix_is_kept() -> None:
    routes = {"/lab/api": json_reply({"version": "2.14.0"}), "/lab/api/kernels": json_reply([])}
    with fake_service(routes) as fake:
        outcome = probe_url(fake.url + "/lab/", timeout=5)
    assert [f.rule_id for f in outcome.findings] == ["MLW-PRB-010"]
    assert all(seen.path.startswith("/lab/") for seen in fake.seen)
