"""Every ``MLW-CFG-*`` rule, in id order (for ``mlwarden rules``, SARIF and tests)."""

from __future__ import annotations

from mlwarden.findings import Rule
from mlwarden.scanners.config import (
    dask_checks,
    dockerfile_checks,
    jupyter_checks,
    kserve_checks,
    kubernetes_checks,
    mlflow_checks,
    mlwarden_toml_checks,
    ray_checks,
    supply_chain_checks,
    torchserve_checks,
    triton_checks,
)

RULES: tuple[Rule, ...] = tuple(
    sorted(
        (
            *mlflow_checks.RULES,
            *jupyter_checks.RULES,
            *ray_checks.RULES,
            *dask_checks.RULES,
            *torchserve_checks.RULES,
            *triton_checks.RULES,
            *kserve_checks.RULES,
            *kubernetes_checks.RULES,
            *dockerfile_checks.RULES,
            *supply_chain_checks.RULES,
            *mlwarden_toml_checks.RULES,
        ),
        key=lambda rule: rule.id,
    )
)
