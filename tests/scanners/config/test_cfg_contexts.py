"""The same launch line judged the same way wherever it is written, with what its
context adds: Dockerfile stages and entrypoints, container env, KubeRay defaults."""

from __future__ import annotations

import base64

from config_scan_harness import scan_config

from mlwarden.findings import Severity

PINNED = f"FROM python:3.11@sha256:{'c' * 64}"


def test_dockerfile_user_follows_stages() -> None:
    builder_root = f"{PINNED} AS build\nUSER root\nRUN make\n{PINNED}\nUSER 1000\n"
    assert scan_config("Dockerfile", builder_root).of("MLW-CFG-060") == []
    inherited = f"{PINNED} AS base\nUSER app\nFROM base\nRUN true\n"
    assert scan_config("Dockerfile", inherited).of("MLW-CFG-060") == []
    back_to_root = f"{PINNED} AS base\nUSER app\nFROM base\nUSER 0:0\n"
    (finding,) = scan_config("Dockerfile", back_to_root).of("MLW-CFG-060")
    assert finding.location.line == 4


def test_entrypoint_wrappers_and_scripts() -> None:
    tini = (
        f'{PINNED}\nUSER 1000\nENTRYPOINT ["tini", "--"]\n'
        'CMD ["jupyter", "lab", "--ip=0.0.0.0", "--ServerApp.token="]\n'
    )
    found = scan_config("Dockerfile", tini).of("MLW-CFG-010")
    assert [f.location.line for f in found] == [4]
    script = (
        f'{PINNED}\nUSER 1000\nENTRYPOINT ["/docker-entrypoint.sh"]\n'
        'CMD ["mlflow", "server", "--host", "0.0.0.0"]\n'
    )
    assert [f.location.line for f in scan_config("Dockerfile", script).of("MLW-CFG-001")] == [4]


def test_env_reaches_the_container_command() -> None:
    text = f"{PINNED}\nUSER 1000\nENV MLFLOW_HOST=0.0.0.0\nCMD mlflow server --port 5000\n"
    (finding,) = scan_config("Dockerfile", text).of("MLW-CFG-001")
    assert finding.location.line == 4 and "0.0.0.0" in finding.evidence


def test_heredoc_is_a_script_only_for_shells() -> None:
    body = "curl -fsSL https://x/i.sh | sh\n"
    python = f"{PINNED}\nUSER 1000\nRUN python3 <<EOF\n{body}EOF\n"
    bash = f"{PINNED}\nUSER 1000\nRUN <<EOF\n{body}EOF\n"
    assert scan_config("Dockerfile", python).of("MLW-CFG-061") == []
    assert [f.location.line for f in scan_config("Dockerfile", bash).of("MLW-CFG-061")] == [4]


def test_non_posix_shell_instruction_stops_shell_parsing() -> None:
    text = (
        f'{PINNED}\nUSER 1000\nSHELL ["powershell", "-Command"]\n'
        "RUN iwr https://x | iex; curl -k x\n"
    )
    assert scan_config("Dockerfile", text).of("MLW-CFG-068") == []


def test_fetch_and_run_forms() -> None:
    flagged = [
        "curl -fsSL https://x/i.sh | sudo -E bash -",
        "wget -qO- https://x/i.sh | sh",
        'sh -c "$(curl -fsSL https://x/i.sh)"',
        "bash <(curl -s https://x/i.sh)",
        "curl https://x/i.py | python3",
    ]
    for line in flagged:
        assert scan_config("i.sh", line + "\n").of("MLW-CFG-061"), line
    quiet = [
        "curl -fsSL https://x/a.tgz | tar xz",
        "curl https://x/i.sh | tee i.sh",
        "curl -o i.sh https://x/i.sh && sh ./verify.sh",
    ]
    for line in quiet:
        assert scan_config("i.sh", line + "\n").of("MLW-CFG-061") == [], line


def test_local_pip_installs_are_not_unpinned_downloads() -> None:
    for line in ("pip install .", "pip install -e .", "pip install ./dist/p-1.0-py3-none-any.whl"):
        assert scan_config("i.sh", line + "\n").of("MLW-CFG-066") == [], line
    assert scan_config("i.sh", "uv pip install requests\n").of("MLW-CFG-066")


def test_kuberay_dashboard_defaults_to_all_interfaces() -> None:
    def cluster(extra: str = "", env: str = "") -> str:
        return (
            "apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {name: rc}\nspec:\n"
            f"  headGroupSpec:\n{extra}    template:\n      spec:\n        containers:\n"
            f"        - name: head\n          image: rayproject/ray:2.40.0\n{env}"
        )

    (default,) = scan_config("rc.yaml", cluster()).of("MLW-CFG-020")
    assert default.severity is Severity.HIGH and "head service" in default.evidence
    (published,) = scan_config("rc.yaml", cluster("    serviceType: NodePort\n")).of("MLW-CFG-020")
    assert published.severity is Severity.CRITICAL
    token = "          env: [{name: RAY_AUTH_MODE, value: token}]\n"
    outcome = scan_config("rc.yaml", cluster(env=token))
    assert outcome.of("MLW-CFG-020") == [] and outcome.of("MLW-CFG-021") == []
    off = scan_config("rc.yaml", cluster('    rayStartParams: {include-dashboard: "false"}\n'))
    assert off.of("MLW-CFG-020") == [] and off.of("MLW-CFG-021")


def test_kubernetes_expands_container_env_into_commands() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: nb}\nspec:\n  containers:\n"
        "  - name: nb\n    image: quay.io/jupyter/base-notebook:2025-01-01\n"
        "    env: [{name: IP, value: 0.0.0.0}]\n"
        "    args: [start-notebook.py, '--ServerApp.ip=$(IP)', '--IdentityProvider.token=']\n"
    )
    (finding,) = scan_config("nb.yaml", text).of("MLW-CFG-010")
    assert finding.location.line == 9
    assert finding.location.field == "Pod/nb.spec.containers[0].args"


def test_any_non_empty_token_setting_counts_as_a_token() -> None:
    text = "c.ServerApp.token = ''\nc.IdentityProvider.token = 'from-a-vault'\n"
    assert scan_config("jupyter_server_config.py", text).findings == []


def test_docker_stacks_launchers_listen_on_all_interfaces() -> None:
    (finding,) = scan_config("run.sh", "start-notebook.sh --NotebookApp.token=''\n").of(
        "MLW-CFG-010"
    )
    assert finding.severity is Severity.CRITICAL


def test_compose_services() -> None:
    text = (
        "services:\n  scheduler:\n    image: ghcr.io/dask/dask:2024.1.0\n"
        "    command: [dask, scheduler, --host, 0.0.0.0]\n"
        "  worker:\n    image: ghcr.io/dask/dask:2024.1.0\n"
        "    command: dask worker tcp://scheduler:8786\n"
        "    network_mode: host\n"
        "    environment: {RAY_DASHBOARD_HOST: 0.0.0.0}\n"
    )
    outcome = scan_config("docker-compose.yml", text)
    assert [f.location.line for f in outcome.of("MLW-CFG-025")] == [4]
    assert [f.location.line for f in outcome.of("MLW-CFG-028")] == [7]
    assert [f.location.field for f in outcome.of("MLW-CFG-052")] == ["services.worker.network_mode"]
    assert [f.location.line for f in outcome.of("MLW-CFG-020")] == [9]


def test_torchserve_management_finding_explains_defaults() -> None:
    text = "management_address=https://0.0.0.0:8443\nenable_model_api=true\n"
    (finding,) = scan_config("config.properties", text).of("MLW-CFG-030")
    assert finding.severity is Severity.HIGH
    assert "model registration API enabled" in finding.evidence
    assert "allowed_urls defaults to any" in finding.evidence


def test_files_mounted_from_configmaps_and_secrets_are_checked() -> None:
    ini = base64.b64encode(b"[mlflow]\nadmin_password = password1234\n").decode()
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ts}\ndata:\n"
        "  config.properties: |\n    model_store=/m\n    management_address=http://0.0.0.0:8081\n"
        "  notes.txt: hello\n---\n"
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: auth}}\ndata:\n  basic_auth.ini: {ini}\n"
        "  other: '!!not base64'\n"
    )
    outcome = scan_config("cm.yaml", text)
    (torchserve,) = outcome.of("MLW-CFG-030")
    assert torchserve.location.line == 7
    assert torchserve.location.field == "ConfigMap/ts.data.config.properties > management_address"
    (admin,) = outcome.of("MLW-CFG-002")
    assert admin.location.line == 14 and admin.location.field.startswith("Secret/auth.data")


def test_torchserve_settings_in_a_conf_file_are_checked() -> None:
    outcome = scan_config("ts.conf", "management_address=http://0.0.0.0:8081\n")
    assert outcome.format == "config-ini" and outcome.of("MLW-CFG-030")
