"""Every MLW-CFG rule fires on a positive sample and stays quiet on its fixed twin.

The table is the contract: each rule has one sample showing the mistake and one showing
the remediation applied, both generated here. A rule added to the catalog without a row
fails ``test_every_rule_has_samples``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from config_scan_harness import scan_config

from mlwarden.scanners.config.catalog import RULES


@dataclass(frozen=True)
class Case:
    rule: str
    name: str
    positive: str
    negative: str
    line: int | None = None
    """Expected line of the positive finding, when the rule reports one."""


def sh(command: str) -> str:
    return "#!/bin/sh\nset -e\n" + command + "\n"  # the command is on line 3


def pod(container: str = "", pod_spec: str = "", kind: str = "Deployment") -> str:
    return f"""apiVersion: apps/v1
kind: {kind}
metadata:
  name: trainer
spec:
  template:
    spec:
{pod_spec}      securityContext:
        runAsNonRoot: true
      containers:
      - name: main
        image: ghcr.io/acme/trainer:1.4.2
{container}"""


def isvc(annotations: str = "", storage: str = "s3://models/iris") -> str:
    return f"""apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: iris
  annotations:
    team: ml
{annotations}spec:
  predictor:
    model:
      modelFormat: {{name: sklearn}}
      storageUri: {storage}
"""


def dockerfile(body: str, user: str = "USER 1000") -> str:
    return f"FROM python:3.11-slim@sha256:{'a' * 64}\n{body}\n{user}\n"


def props(extra: str) -> str:
    return "model_store=/models\n" + extra + "\n"


def toml(text: str) -> str:
    return text.strip() + "\n"


TRITON = "tritonserver --model-repository=/m"
VOLUMES = "      volumes:\n      - name: h\n"
STRONG = "c.PasswordIdentityProvider.hashed_password = 'argon2:$argon2id$v=19$m=10240,t=10,p=8$x'"

CASES = [
    # MLflow
    Case("MLW-CFG-001", "run.sh", sh("mlflow server --host 0.0.0.0 --port 5000"),
         sh("mlflow server --host 0.0.0.0 --app-name basic-auth"), 3),
    Case("MLW-CFG-002", "basic_auth.ini",
         "[mlflow]\nadmin_username = admin\nadmin_password = password1234\n",
         "[mlflow]\nadmin_username = admin\nadmin_password = 7v!Qm2#pLx9\n", 3),
    Case("MLW-CFG-003", "run.sh", sh("mlflow server --artifacts-destination ../../srv/art"),
         sh("mlflow server --artifacts-destination /srv/art"), 3),
    Case("MLW-CFG-004", "run.sh",
         sh("mlflow server --default-artifact-root http://10.0.0.5/artifacts"),
         sh("mlflow server --default-artifact-root https://10.0.0.5/artifacts"), 3),
    Case("MLW-CFG-005", "run.sh", sh("mlflow server -h 0.0.0.0 --serve-artifacts"),
         sh("mlflow server -h 0.0.0.0 --serve-artifacts --app-name basic-auth"), 3),
    Case("MLW-CFG-006", "run.sh", sh("mlflow server --allowed-hosts '*'"),
         sh("mlflow server --allowed-hosts mlflow.example.com"), 3),
    Case("MLW-CFG-007", "run.sh", sh("mlflow server --gunicorn-opts '--forwarded-allow-ips=*'"),
         sh("mlflow server --gunicorn-opts '--workers 4'"), 3),
    Case("MLW-CFG-008", "basic_auth.ini", "[mlflow]\ndefault_permission = MANAGE\n",
         "[mlflow]\ndefault_permission = READ\n", 2),
    # Jupyter
    Case("MLW-CFG-010", "jupyter_server_config.py",
         "c = get_config()\nc.ServerApp.ip = '0.0.0.0'\nc.ServerApp.token = ''\n",
         f"c = get_config()\nc.ServerApp.ip = '0.0.0.0'\nc.ServerApp.token = ''\n{STRONG}\n", 3),
    Case("MLW-CFG-011", "jupyter_notebook_config.py", "c.NotebookApp.token = ''\n",
         "c.NotebookApp.token = os.environ['JUPYTER_TOKEN']\n", 1),
    Case("MLW-CFG-012", "jupyter_server_config.py", "c.ServerApp.allow_origin = '*'\n",
         "c.ServerApp.allow_origin = 'https://app.example.com'\n", 1),
    Case("MLW-CFG-013", "jupyter_server_config.py", "c.ServerApp.disable_check_xsrf = True\n",
         "c.ServerApp.disable_check_xsrf = False\n", 1),
    Case("MLW-CFG-014", "run.sh", sh("jupyter lab --allow-root"), sh("jupyter lab"), 3),
    # Ray
    Case("MLW-CFG-020", "run.sh", sh("ray start --head --dashboard-host=0.0.0.0"),
         sh("export RAY_AUTH_MODE=token\nray start --head --dashboard-host=0.0.0.0"), 3),
    Case("MLW-CFG-021", "run.sh", sh("ray start --head --port=6379"),
         sh("ray start --address=10.0.0.1:6379"), 3),
    # Dask
    Case("MLW-CFG-025", "run.sh", sh("dask scheduler --port 8786"),
         sh("dask scheduler --protocol tls --tls-ca-file ca.pem --tls-cert s.pem --tls-key s.key"),
         3),
    Case("MLW-CFG-026", "run.sh", sh("dask-scheduler --tls-cert s.pem --tls-key s.key"),
         sh("dask-scheduler --tls-cert s.pem --tls-key s.key --no-dashboard"), 3),
    Case("MLW-CFG-027", "run.sh", sh("dask scheduler --jupyter"),
         sh("dask scheduler --jupyter --dashboard-address 127.0.0.1:8787"), 3),
    Case("MLW-CFG-028", "run.sh", sh("dask worker tcp://10.1.2.3:8786"),
         sh("dask worker tls://10.1.2.3:8786"), 3),
    # TorchServe
    Case("MLW-CFG-030", "config.properties", props("management_address=http://0.0.0.0:8081"),
         props("management_address=http://127.0.0.1:8081"), 2),
    Case("MLW-CFG-031", "config.properties",
         props("inference_address=http://0.0.0.0:8080\ndisable_token_authorization=true"),
         props("inference_address=http://0.0.0.0:8080"), 2),
    Case("MLW-CFG-032", "config.properties", props("disable_token_authorization=true"),
         props("disable_token_authorization=false"), 2),
    Case("MLW-CFG-033", "config.properties", props("allowed_urls=https?://.*"),
         props("allowed_urls=https://models\\\\.example\\\\.com/.*"), 2),
    Case("MLW-CFG-034", "config.properties", props("enable_envvars_config=true"),
         props("enable_envvars_config=false"), 2),
    Case("MLW-CFG-035", "config.properties", props("install_py_dep_per_model=true"),
         props("install_py_dep_per_model=false"), 2),
    # Triton
    Case("MLW-CFG-040", "run.sh", sh(f"{TRITON} --model-control-mode=explicit"),
         sh(f"{TRITON} --model-control-mode=explicit "
            "--http-restricted-api=model-repository:admin-key=s3cr3t "
            "--grpc-restricted-protocol=model-repository:admin-key=s3cr3t"), 3),
    Case("MLW-CFG-041", "run.sh", sh(f"{TRITON} --model-control-mode=poll"),
         sh(f"{TRITON} --model-control-mode=none"), 3),
    Case("MLW-CFG-042", "run.sh", sh("tritonserver --model-repository=/m"),
         sh("tritonserver --model-repository=/m --http-address=127.0.0.1 --grpc-address=127.0.0.1"),
         3),
    # KServe
    Case("MLW-CFG-045", "isvc.yaml", isvc(),
         isvc('    serving.kserve.io/enable-auth: "true"\n'), 3),
    Case("MLW-CFG-046", "isvc.yaml", isvc(storage="http://models.example.com/iris"),
         isvc(storage="https://models.example.com/iris"), 11),
    # Kubernetes
    Case("MLW-CFG-050", "deploy.yaml", pod("        securityContext: {privileged: true}\n"),
         pod("        securityContext: {privileged: false}\n"), 13),
    Case("MLW-CFG-051", "deploy.yaml", pod(pod_spec=VOLUMES + "        hostPath: {path: /var}\n"),
         pod(pod_spec=VOLUMES + "        emptyDir: {}\n"), 9),
    Case("MLW-CFG-052", "deploy.yaml", pod(pod_spec="      hostNetwork: true\n"),
         pod(pod_spec="      hostNetwork: false\n"), 8),
    Case("MLW-CFG-053", "deploy.yaml", pod("        securityContext: {runAsUser: 0}\n"),
         pod("        securityContext: {runAsUser: 1000}\n"), 13),
    Case("MLW-CFG-054", "deploy.yaml",
         pod().replace("      securityContext:\n        runAsNonRoot: true\n", ""), pod(), 9),
    Case("MLW-CFG-055", "deploy.yaml",
         pod("        securityContext: {allowPrivilegeEscalation: true}\n"),
         pod("        securityContext: {allowPrivilegeEscalation: false}\n"), 13),
    Case("MLW-CFG-056", "deploy.yaml",
         pod("        securityContext: {capabilities: {add: [SYS_ADMIN]}}\n"),
         pod("        securityContext: {capabilities: {add: [NET_BIND_SERVICE]}}\n"), 13),
    Case("MLW-CFG-057", "deploy.yaml",
         pod("        env:\n        - {name: HF_TOKEN, value: hf_abcdefghijklmnop}\n"),
         pod("        env:\n        - name: HF_TOKEN\n          valueFrom: {secretKeyRef: {}}\n"),
         14),
    Case("MLW-CFG-058", "deploy.yaml", pod().replace("trainer:1.4.2", "trainer:latest"), pod(), 12),
    Case("MLW-CFG-059", "deploy.yaml",
         pod("        resources:\n          limits: {nvidia.com/gpu: 1}\n"),
         pod("        resources:\n          limits: {nvidia.com/gpu: 1, cpu: 8, memory: 64Gi}\n"),
         13),
    # Dockerfile and supply chain
    Case("MLW-CFG-060", "Dockerfile", dockerfile("RUN true", user="USER root"),
         dockerfile("RUN true"), 3),
    Case("MLW-CFG-061", "Dockerfile",
         dockerfile("RUN curl -fsSL https://get.example.com/install.sh | sh"),
         dockerfile("RUN curl -fsSLo i.sh https://get.example.com/i.sh && sha256sum -c i.sum"), 2),
    Case("MLW-CFG-062", "Dockerfile", "FROM python\nUSER 1000\n", dockerfile(""), 1),
    Case("MLW-CFG-063", "Dockerfile", "FROM python:3.11-slim\nUSER 1000\n", dockerfile(""), 1),
    Case("MLW-CFG-064", "Dockerfile", dockerfile("ADD https://example.com/m.bin /m.bin"),
         dockerfile(f"ADD --checksum=sha256:{'b' * 64} https://example.com/m.bin /m.bin"), 2),
    Case("MLW-CFG-065", "Dockerfile", dockerfile("ENV WANDB_API_KEY=0123456789abcdef"),
         dockerfile("ENV WANDB_API_KEY_FILE=/run/secrets/wandb"), 2),
    Case("MLW-CFG-066", "Dockerfile", dockerfile("RUN pip install torch==2.5.1 numpy"),
         dockerfile("RUN pip install --require-hashes -r requirements.txt"), 2),
    Case("MLW-CFG-067", "Dockerfile",
         dockerfile("RUN pip install --extra-index-url https://pypi.acme.dev/simple acme-ml"),
         dockerfile("RUN pip install --index-url https://pypi.acme.dev/simple acme-ml"), 2),
    Case("MLW-CFG-068", "run.sh", sh("curl -fsSLk https://internal/model.bin -o m.bin"),
         sh("curl -fsSL https://internal/model.bin -o m.bin"), 3),
    # mlwarden.toml
    Case("MLW-CFG-070", "mlwarden.toml", toml('[server]\nhost = "0.0.0.0"\ntls = false'),
         toml('[server]\nhost = "0.0.0.0"\ntls = true'), 3),
    Case("MLW-CFG-071", "mlwarden.toml", toml('[server]\nhost = "10.0.0.2"\ndev_loopback = true'),
         toml('[server]\nhost = "127.0.0.1"\ndev_loopback = true\ntls = false'), 3),
    Case("MLW-CFG-072", "mlwarden.toml", toml('[server]\nhost = "127.0.0.1"\ntls = false'),
         toml('[server]\nhost = "127.0.0.1"\ntls = false\ndev_loopback = true'), 3),
    Case("MLW-CFG-073", "mlwarden.toml", toml('[scan]\nfail_on = "critical"'),
         toml('[scan]\nfail_on = "high"'), 2),
    Case("MLW-CFG-074", "mlwarden.toml", toml('[scan]\nfail_on = "info"'),
         toml('[scan]\nfail_on = "medium"'), 2),
    Case("MLW-CFG-075", "mlwarden.toml", toml("[scan.limits]\nmax_seconds = 172800"),
         toml("[scan.limits]\nmax_seconds = 900"), 2),
    Case("MLW-CFG-076", "mlwarden.toml", toml('[scan]\nallow_globals = ["subprocess.*"]'),
         toml('[scan]\nallow_globals = ["acme.models.Net"]'), 2),
    Case("MLW-CFG-077", "mlwarden.toml", toml('[server]\ntsl = true'),
         toml('[server]\ntls = true'), 2),
]  # fmt: skip


def test_every_rule_has_samples() -> None:
    assert {r.id for r in RULES} == {c.rule for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_positive_sample_is_reported(case: Case) -> None:
    found = scan_config(case.name, case.positive).of(case.rule)
    assert found, f"{case.rule} missed in:\n{case.positive}"
    if case.line is not None:
        assert found[0].location.line == case.line
    assert found[0].location.path == case.name


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_fixed_sample_is_clean_of_that_rule(case: Case) -> None:
    outcome = scan_config(case.name, case.negative)
    assert outcome.of(case.rule) == [], [f.evidence for f in outcome.of(case.rule)]


def test_rules_are_actionable_and_tagged() -> None:
    for rule in RULES:
        assert rule.id.startswith("MLW-CFG-0") and len(rule.id) == 11
        assert rule.remediation.endswith(".") and len(rule.remediation) > 30
        assert any(t.startswith("CWE-") for t in rule.tags), rule.id
    assert len({r.id for r in RULES}) == len(RULES)
