"""Runtime monitoring: reference profiles, drift and output checks, out-of-distribution
and model-extraction detection, alerts and plots (rule area ``MON``).

Checks follow :mod:`mlwarden.ml.base`: configure once, ``run(window)`` per window.
"""

from __future__ import annotations

from mlwarden.monitor.drift_check import DriftCheck
from mlwarden.monitor.profile import FeatureProfile, ReferenceProfile
from mlwarden.monitor.profile_json import load_profile, profile_from_json, save_profile

__all__ = [
    "DriftCheck",
    "FeatureProfile",
    "ReferenceProfile",
    "load_profile",
    "profile_from_json",
    "save_profile",
]
