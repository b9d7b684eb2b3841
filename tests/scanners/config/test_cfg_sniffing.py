"""Format sniffing: conventional names, content for files whose names say nothing, and no
claims on files that are not configuration."""

from __future__ import annotations

import pytest
from config_scan_harness import scanner_for

from mlwarden.scanners.config import sniffing
from mlwarden.scanners.config.catalog import RULES


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("Dockerfile", b"", "dockerfile"),
        ("docker/Dockerfile.gpu", b"", "dockerfile"),
        ("build/train.dockerfile", b"", "dockerfile"),
        ("Containerfile", b"", "dockerfile"),
        ("image-spec", b"# syntax=docker/dockerfile:1\nARG V=1\nFROM python:3.11\n", "dockerfile"),
        ("k8s/deploy.yaml", b"", "config-yaml"),
        ("compose.yml", b"", "config-yaml"),
        ("manifest", b"---\napiVersion: v1\nkind: Pod\n", "config-yaml"),
        ("entrypoint", b"#!/usr/bin/env bash\nset -e\n", "shell-script"),
        ("start", b"#!/bin/sh\n", "shell-script"),
        ("scripts/launch.sh", b"", "shell-script"),
        ("jupyter_server_config.py", b"", "jupyter-config"),
        ("jupyter_notebook_config.json", b"{}", "jupyter-config"),
        ("etc/my_settings.py", b"c = get_config()\nc.ServerApp.token = ''\n", "jupyter-config"),
        ("config.properties", b"", "java-properties"),
        ("ts-config", b"inference_address=http://0.0.0.0:8080\n", "java-properties"),
        ("k8s/torchserve-cm.yaml", b"data:\n  inference_address=http://x\n", "config-yaml"),
        ("basic_auth.ini", b"", "config-ini"),
        ("pip.conf", b"", "config-ini"),
        ("supervisor", b"[program:mlflow]\ncommand=mlflow ui\n", "config-ini"),
        (".env", b"", "dotenv"),
        ("deploy/.env.production", b"", "dotenv"),
        ("mlwarden.toml", b"", "mlwarden-toml"),
        ("ci.toml", b"[scan]\nfail_on = 'high'\n", "mlwarden-toml"),
    ],
)
def test_recognised(name: str, head: bytes, expected: str) -> None:
    assert sniffing.sniff_config_format(name, head) == expected


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("model.pkl", b"\x80\x04\x95"),
        ("weights.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{"),
        ("notes.txt", b"FROM the desk of the team lead\n"),
        ("train.py", b"import torch\nc = 1\n"),
        ("pyproject.toml", b"[project]\nname = 'x'\n"),
        ("data.json", b'{"a": 1}'),
        ("jupyterhub_config.py", b"c.JupyterHub.port = 8000\n"),
    ],
)
def test_not_claimed(name: str, head: bytes) -> None:
    assert sniffing.sniff_config_format(name, head) is None


def test_every_format_has_a_scanner_named_after_it() -> None:
    for fmt in sniffing.FORMATS:
        scanner = scanner_for(fmt)
        assert scanner.name == fmt
        assert scanner.rules == RULES
