"""The Python environment a training run used: interpreter, platform, installed packages."""

from __future__ import annotations

import hashlib
import platform
import re
from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True)
class PythonEnvironment:
    """The interpreter and packages a run used."""

    python_version: str
    """e.g. ``3.11.9``."""
    implementation: str
    """e.g. ``CPython``."""
    platform: str
    """e.g. ``Linux-6.1-x86_64-with-glibc2.36``."""
    packages: tuple[str, ...]
    """Installed distributions as ``name==version`` (normalised names, sorted, unique)."""

    @property
    def packages_digest(self) -> str:
        """SHA-256 of the package list, one ``name==version`` per line, newline-terminated.

        Two runs with the same digest had the same packages installed, so the digest can
        stand in for the list when the list is left out of the provenance.
        """
        text = "".join(f"{line}\n" for line in self.packages)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def capture_environment() -> PythonEnvironment:
    """Describe the running interpreter and every distribution importable from it."""
    packages = set()
    for distribution in metadata.distributions():
        name = distribution.metadata["Name"]
        if name:
            packages.add(f"{normalise_name(name)}=={distribution.version}")
    return PythonEnvironment(
        python_version=platform.python_version(),
        implementation=platform.python_implementation(),
        platform=platform.platform(),
        packages=tuple(sorted(packages)),
    )


def normalise_name(name: str) -> str:
    """PEP 503 name normalisation: lowercase, runs of ``-_.`` become one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()
