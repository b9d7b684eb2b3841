"""Generated test corpus: malicious and benign model files, built on demand.

Each family module contributes a builder; add a line below to register a new family.
"""

from __future__ import annotations

from pathlib import Path

from .sample import Sample

__all__ = ["Sample", "build_benign", "build_large_checkpoint", "build_malicious"]


def build_malicious(out_dir: Path, marker: Path) -> list[Sample]:
    """Write every malicious sample under ``out_dir``; loading one creates ``marker``."""
    from .containers import build_container_attacks
    from .formats import build_format_malicious
    from .pickle_attacks import build_pickle_attacks

    out_dir.mkdir(parents=True, exist_ok=True)
    samples: list[Sample] = []
    samples += build_pickle_attacks(out_dir, marker)
    samples += build_container_attacks(out_dir, marker)
    samples += build_format_malicious(out_dir / "formats", marker)
    return samples


def build_benign(out_dir: Path) -> list[Sample]:
    """Write every benign sample under ``out_dir``."""
    from .benign_models import build_benign as build_benign_models
    from .formats import build_format_benign

    out_dir.mkdir(parents=True, exist_ok=True)
    samples: list[Sample] = []
    samples += build_benign_models(out_dir)
    samples += build_format_benign(out_dir / "formats")
    return samples


def build_large_checkpoint(path: Path, size_mb: int) -> Path:
    """A benign torch zip ``state_dict`` of about ``size_mb`` MiB (one tensor in memory)."""
    from .benign_models import build_large_checkpoint as build

    return build(path, size_mb)
