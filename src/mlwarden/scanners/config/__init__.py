"""Misconfigurations of ML infrastructure: ``MLW-CFG-*`` rules.

Pure analysis of configuration files and launch commands (no network, nothing executed):
Dockerfiles, Kubernetes/Compose/Dask YAML, shell scripts, Jupyter configs, TorchServe
``config.properties``, INI files (MLflow ``basic_auth.ini``, ``pip.conf``, supervisord),
``.env`` files and ``mlwarden.toml``. Format names, sniffers and scanner classes are in
:mod:`mlwarden.scanners.config.sniffing`; the rule catalog is in
:mod:`mlwarden.scanners.config.catalog`. Running services are checked by
:mod:`mlwarden.probe`.
"""
