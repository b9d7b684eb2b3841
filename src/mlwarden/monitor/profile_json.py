"""Saving and loading a :class:`~mlwarden.monitor.profile.ReferenceProfile` as JSON.

A profile file is untrusted input like any other: loading checks its size, every field's
type, shape and finiteness, and raises :class:`UsageError` naming what is wrong instead of
building a profile that would fail later.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mlwarden.errors import UsageError
from mlwarden.monitor.joint_profile import JointProfile
from mlwarden.monitor.output_profile import OutputProfile
from mlwarden.monitor.profile import MAX_FEATURES, FeatureProfile, ReferenceProfile

FORMAT = "mlwarden-reference-profile"
VERSION = 1
MAX_PROFILE_BYTES = 64 * 1024 * 1024
"""Largest profile file read."""

FloatArray = npt.NDArray[np.float64]


def _floats(values: FloatArray) -> list[Any]:
    return np.asarray(values, dtype=np.float64).tolist()  # type: ignore[no-any-return]


def profile_to_json(profile: ReferenceProfile) -> str:
    """The profile as a JSON document (floats written exactly, no NaN)."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "n_samples": profile.n_samples,
        "random_state": profile.random_state,
        "features": [
            {
                "name": f.name,
                "kind": f.kind,
                "n": f.n,
                "quantiles": _floats(f.quantiles),
                "bin_edges": _floats(f.bin_edges),
                "counts": _floats(f.counts),
                "categories": list(f.categories),
            }
            for f in profile.features
        ],
        "joint": None,
        "outputs": None,
    }
    if profile.joint is not None:
        j = profile.joint
        doc["joint"] = {
            "columns": list(j.columns),
            "n_embedding": j.n_embedding,
            **{
                key: _floats(getattr(j, key))
                for key in (
                    "center",
                    "scale",
                    "rff_weights",
                    "rff_offsets",
                    "mean_embedding",
                    "eigenvalues",
                    "reservoir",
                    "robust_location",
                    "robust_precision",
                    "calibration",
                )
            },
        }
    if profile.outputs is not None:
        o = profile.outputs
        doc["outputs"] = {
            "class_counts": _floats(o.class_counts),
            "confidence": _floats(o.confidence),
            "n": o.n,
            "boundary_rate": o.boundary_rate,
        }
    return json.dumps(doc, allow_nan=False, separators=(",", ":"))


def save_profile(profile: ReferenceProfile, path: str | os.PathLike[str]) -> None:
    """Write the profile atomically (temp file in the same folder, fsync, rename)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.resolve().parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(profile.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_profile(path: str | os.PathLike[str]) -> ReferenceProfile:
    """Read a profile file written by :func:`save_profile`."""
    target = Path(path)
    try:
        size = target.stat().st_size
        if size > MAX_PROFILE_BYTES:
            raise UsageError(
                str(path),
                f"the profile is {size} bytes, over the {MAX_PROFILE_BYTES} byte limit",
                "fit a profile with a smaller reservoir or fewer quantiles",
            )
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            str(path), f"cannot read the profile ({exc.strerror})", "check the path"
        ) from None
    except UnicodeDecodeError:
        raise UsageError(
            str(path), "the profile is not UTF-8 text", "pass a profile JSON file"
        ) from None
    return profile_from_json(text, source=str(path))


class _Reader:
    """Typed access to a parsed JSON document; every failure names the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> UsageError:
        return UsageError(
            self.source,
            f"{where} {problem}",
            "regenerate the profile with ReferenceProfile.fit(...).to_json()",
        )

    def obj(self, doc: Any, key: str) -> dict[str, Any]:
        value = doc.get(key) if isinstance(doc, dict) else None
        if not isinstance(value, dict):
            raise self.fail(key, "is missing or not an object")
        return value

    def int_(self, doc: dict[str, Any], key: str, low: int = 0, high: int = 2**62) -> int:
        value = doc.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(key, f"must be an integer in [{low}, {high}]")
        return value

    def array(self, doc: dict[str, Any], key: str, ndim: int = 1) -> FloatArray:
        value = doc.get(key)
        if not isinstance(value, list):
            raise self.fail(key, "is missing or not a list")
        try:
            out = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise self.fail(key, "holds values that are not numbers") from None
        if out.size == 0:
            out = out.reshape((0,) * ndim)
        if out.ndim != ndim or not np.isfinite(out).all():
            raise self.fail(key, f"must be a {ndim}-D list of finite numbers")
        return out


def profile_from_json(text: str, *, source: str = "<profile>") -> ReferenceProfile:
    """Parse and validate a profile document; raise :class:`UsageError` when it is not one."""
    if len(text) > MAX_PROFILE_BYTES:
        raise UsageError(source, "the profile is too large", "check that this is a profile")
    r = _Reader(source)
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise r.fail("the document", f"is not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise r.fail("format", f"is not {FORMAT!r}")
    if doc.get("version") != VERSION:
        raise r.fail("version", f"is {doc.get('version')!r}; this mlwarden reads {VERSION}")
    raw_features = doc.get("features")
    if not isinstance(raw_features, list) or not 0 < len(raw_features) <= MAX_FEATURES:
        raise r.fail("features", f"must be a list of 1..{MAX_FEATURES} features")
    features = [_feature(r, item, i) for i, item in enumerate(raw_features)]
    if len({f.name for f in features}) != len(features):
        raise r.fail("features", "repeat a feature name")
    joint = None
    if doc.get("joint") is not None:
        joint = _joint(r, r.obj(doc, "joint"), len(features))
    outputs = None
    if doc.get("outputs") is not None:
        o = r.obj(doc, "outputs")
        rate = o.get("boundary_rate")
        if not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise r.fail("outputs.boundary_rate", "must be a number in [0, 1]")
        outputs = OutputProfile(
            class_counts=r.array(o, "class_counts"),
            confidence=np.sort(r.array(o, "confidence")),
            n=r.int_(o, "n", 1),
            boundary_rate=float(rate),
        )
    return ReferenceProfile(
        features=tuple(features),
        n_samples=r.int_(doc, "n_samples", 1),
        joint=joint,
        outputs=outputs,
        random_state=r.int_(doc, "random_state", 0, 2**32 - 1),
    )


def _feature(r: _Reader, item: Any, index: int) -> FeatureProfile:
    if not isinstance(item, dict):
        raise r.fail(f"features[{index}]", "is not an object")
    name, kind, categories = item.get("name"), item.get("kind"), item.get("categories")
    if not isinstance(name, str) or not name or kind not in ("numeric", "categorical"):
        raise r.fail(f"features[{index}]", "needs a name and a kind (numeric or categorical)")
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise r.fail(f"features[{index}].categories", "must be a list of strings")
    counts = r.array(item, "counts")
    edges = r.array(item, "bin_edges")
    quantiles = r.array(item, "quantiles")
    expected = len(categories) + 1 if kind == "categorical" else edges.shape[0] + 1
    if counts.shape[0] != expected or (counts < 0).any():
        raise r.fail(f"features[{index}].counts", f"must hold {expected} counts >= 0")
    if (np.diff(edges) <= 0).any() or (np.diff(quantiles) < 0).any():
        raise r.fail(f"features[{index}]", "has bin edges or quantiles out of order")
    return FeatureProfile(
        name=name,
        kind=kind,
        n=r.int_(item, "n"),
        quantiles=quantiles,
        bin_edges=edges,
        counts=counts,
        categories=tuple(categories),
    )


def _joint(r: _Reader, j: dict[str, Any], n_features: int) -> JointProfile:
    columns = j.get("columns")
    if (
        not isinstance(columns, list)
        or len(columns) < 2
        or not all(isinstance(c, int) and 0 <= c < n_features for c in columns)
    ):
        raise r.fail("joint.columns", f"must list at least two feature indices < {n_features}")
    d = len(columns)
    arrays = {
        key: r.array(j, key, ndim)
        for key, ndim in (
            ("center", 1),
            ("scale", 1),
            ("rff_weights", 2),
            ("rff_offsets", 1),
            ("mean_embedding", 1),
            ("eigenvalues", 1),
            ("reservoir", 2),
            ("robust_location", 1),
            ("robust_precision", 2),
            ("calibration", 1),
        )
    }
    big_d = arrays["rff_offsets"].shape[0]
    shapes_ok = (
        arrays["center"].shape == (d,)
        and arrays["scale"].shape == (d,)
        and (arrays["scale"] > 0).all()
        and arrays["rff_weights"].shape == (d, big_d)
        and arrays["mean_embedding"].shape == (big_d,)
        and arrays["eigenvalues"].shape[0] <= big_d
        and arrays["reservoir"].shape[1:] == (d,)
        and arrays["robust_location"].shape == (d,)
        and arrays["robust_precision"].shape == (d, d)
        and big_d > 0
    )
    if not shapes_ok:
        raise r.fail("joint", "has arrays whose shapes do not fit together")
    return JointProfile(
        columns=tuple(columns),
        n_embedding=r.int_(j, "n_embedding", 1),
        **{**arrays, "calibration": np.sort(arrays["calibration"])},
    )
