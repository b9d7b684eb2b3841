"""Poisoning and backdoor detection in training data (rules ``MLW-PSN-*``).

Two checks share the :mod:`mlwarden.ml.base` call shape:

- :class:`BackdoorDataCheck` looks, class by class, at the representation a model gives the
  training samples (the input of its last linear layer). A backdoor makes the target class a
  mixture: its own samples plus triggered samples from other classes, which the model maps to
  a separate direction. Each class is robustly whitened (minimum covariance determinant on a
  PCA of the class, so a poisoned minority does not shape the estimate), then scored three
  ways: a QUE score (SPECTRE), a spectral signature on the top whitened direction, and a
  2-means activation clustering. Those scores *seed* a search in the input: apart from the
  trigger, a poisoned sample looks like its source class, so its difference from its nearest
  other-class neighbours is the trigger itself, the same on every poisoned sample. Each seed
  is refined to the rows sharing its strongest such shift
  (:mod:`mlwarden.ml.trigger_pattern`), and a class is reported when that shift is far
  stronger than the median class's (a second look, on each group's single strongest feature,
  catches a one-feature stamp at a higher bar); its group then leaves the neighbour reference
  of the other classes, which are measured again (a clean row whose nearest neighbour is
  poison shows the trigger mirrored). Inputs that cannot be searched (non-numeric, wider than
  4096 values, too large) fall back to the representation alone: the strength of the top
  whitened direction as an outlier among all classes. The input test covers patch and
  feature-pattern triggers stamped on at least eight samples (one feature when the stamp is
  strong); blended or sample-specific triggers are not what it measures, and with fewer than
  three classes the median class is no clean reference (two classes never exceed the
  default threshold).
- :class:`LabelFlipCheck` needs no model: samples whose nearest neighbours mostly carry one
  other label, counted per label they were given, so flips into one target class stand out.

Both are pure and deterministic for a given ``random_state``; inputs beyond the documented
sizes raise :class:`~mlwarden.errors.UsageError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mlwarden.errors import UsageError
from mlwarden.findings import Finding, Location, Rule, Severity
from mlwarden.ml.base import CheckResult, Dataset, ScoreTable
from mlwarden.ml.representations import penultimate_features
from mlwarden.ml.trigger_pattern import (
    TOP_FEATURES,
    ShiftEvidence,
    class_residuals,
    feature_scale,
    pattern_space,
    strongest_group,
)
from mlwarden.taxonomy import ATLAS_POISON_MODEL, OWASP_ML10_MODEL_POISONING

ATLAS_POISON_TRAINING_DATA = "AML.T0020"  # MITRE ATLAS: Poison Training Data

MAX_SAMPLES = 200_000
"""Rows accepted by :class:`BackdoorDataCheck`."""
MAX_FEATURES = 16_384
"""Representation width accepted (wider layers: project them first)."""
MAX_NEIGHBOUR_SAMPLES = 50_000
"""Rows accepted by :class:`LabelFlipCheck` (its neighbour search grows as n log n to n^2)."""
MIN_CLASS_SIZE = 20
"""Classes with fewer samples are not analysed (too few for a robust covariance)."""

_TAGS = (ATLAS_POISON_TRAINING_DATA, ATLAS_POISON_MODEL, OWASP_ML10_MODEL_POISONING)

BACKDOOR_CLUSTER = Rule(
    id="MLW-PSN-001",
    title="Suspected backdoor: a class holds a separate poisoned sub-population",
    severity=Severity.HIGH,
    remediation=(
        "Inspect the listed samples of this class (look for a shared patch or pattern); "
        "remove them, retrain, and trace where they entered the data set."
    ),
    tags=_TAGS,
    description=(
        "In the model's penultimate representation the class is a mixture: a sub-population "
        "lies along a direction much stronger than any other class shows. Backdoor triggers "
        "stamped on relabelled samples produce exactly this."
    ),
)
LABEL_FLIP_CLUSTER = Rule(
    id="MLW-PSN-002",
    title="Suspected label flipping into one class",
    severity=Severity.HIGH,
    remediation=(
        "Review the listed samples: their nearest neighbours carry another label. Correct or "
        "remove them and find the source that labelled them."
    ),
    tags=_TAGS,
    description=(
        "Many samples labelled with this class sit among samples of one other class, far more "
        "than in any other class: a targeted label-flipping attack or a systematic mislabel."
    ),
)
OUTLIER_SAMPLES = Rule(
    id="MLW-PSN-003",
    title="Representation outliers to review",
    severity=Severity.LOW,
    remediation="Review the listed samples; no class shows a poisoned sub-population.",
    tags=_TAGS,
)

Method = Literal["auto", "spectre", "spectral", "clustering"]


@dataclass(frozen=True)
class BackdoorDataCheck:
    """Find backdoor-poisoned samples from a model's penultimate-layer representation.

    Give the representation either as ``features`` (shape ``(n_samples, width)``, rows in
    the data's order) or as the ``model`` argument of :meth:`run` (PyTorch ``nn.Module`` or
    scikit-learn ``Pipeline``; see :func:`~mlwarden.ml.representations.penultimate_features`).
    Labels (``data.y``) are required: poisoning is looked for class by class.
    """

    method: Method = "auto"
    """Per-sample score: ``spectre`` (QUE on robustly whitened data), ``spectral`` (projection
    on the top whitened direction), ``clustering`` (distance to the other 2-means cluster), or
    ``auto`` (the mean of the three ranks)."""
    expected_poison_rate: float | None = None
    """Upper bound on the poisoned fraction of the whole data set, if known: at most twice
    this many samples are flagged."""
    max_flag_rate: float = 0.02
    """Share of the data set listed as outliers to review when no class is suspicious."""
    random_state: int = 0
    features: npt.NDArray[Any] | None = None
    n_components: int = 10
    """PCA components kept per class before whitening."""
    class_z_threshold: float = 3.5
    """Robust z-score (across classes) of a class's signal strength above which it is reported."""
    min_signal: float = 8.0
    """Smallest top whitened eigenvalue reported at all (clean classes sit near 1 to 10).
    ``class_z_threshold`` and ``min_signal`` decide only when the input cannot be searched
    for a trigger pattern (see ``pattern_threshold``)."""
    pattern_threshold: float = 2.0
    """A class is reported when a group of its samples (at least eight) shifts a few input
    features consistently away from their nearest other-class neighbours, this many times
    more strongly than the median class does (clean digits and a clean synthetic table
    reach 1.4; a stamped trigger 2 to 20, see benchmarks/README.md)."""
    single_feature_threshold: float = 3.0
    """The same test for a trigger stamped on one feature alone, which is noisier on clean
    data (clean classes reach 1.8) and so needs a higher ratio."""

    @property
    def name(self) -> str:
        return "backdoor-data"

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (BACKDOOR_CLUSTER, OUTLIER_SAMPLES)

    def run(self, data: Dataset, model: Any | None = None) -> CheckResult:
        """Score every sample; report classes holding a separate suspicious sub-population."""
        self._validate(data)
        assert data.y is not None  # checked by _validate
        feats = self._representation(data, model)
        labels = data.y
        classes = np.unique(labels)
        n = data.n_samples
        score = np.zeros(n)
        cluster_score = np.zeros(n)
        spectral_score = np.zeros(n)
        que_score = np.zeros(n)
        stats: dict[Any, _ClassStats] = {}
        for cls in classes:
            rows = np.flatnonzero(labels == cls)
            if rows.size < MIN_CLASS_SIZE:
                continue
            st = _class_scores(feats[rows], self.n_components, self.random_state)
            stats[cls.item() if hasattr(cls, "item") else cls] = st
            que_score[rows] = st.que
            spectral_score[rows] = st.spectral
            cluster_score[rows] = st.cluster
            score[rows] = self._combine(st)
        if not stats:
            raise UsageError(
                data.source,
                f"no class has at least {MIN_CLASS_SIZE} samples",
                "check the label column, or give more data",
            )

        strengths = np.array([s.strength for s in stats.values()])
        med = float(np.median(strengths))
        mad = float(np.median(np.abs(strengths - med))) * 1.4826 + 1e-9
        patterns = self._pattern_groups(data, labels, stats)
        flagged = np.zeros(n, dtype=bool)
        findings: list[Finding] = []
        suspicious: dict[Any, npt.NDArray[np.intp]] = {}
        for cls, st in stats.items():
            z = (st.strength - med) / mad
            if patterns is not None:
                # The input shows a trigger-like shared shift far beyond the other classes.
                ratio, _, picked = patterns[cls]
                if ratio < self.pattern_threshold:
                    continue
            elif z < self.class_z_threshold or st.strength < self.min_signal:
                continue
            else:
                picked = self._candidates(labels, cls, st, n)
            if picked.size == 0:
                continue
            flagged[picked] = True
            suspicious[cls] = picked
            relabelled = exclusion_relabel_fraction(
                _reclassification_space(data, feats), labels, picked
            )
            pattern = None if patterns is None else patterns[cls][:2]
            findings.append(
                self._class_finding(data, cls, picked, score, st, z, relabelled, pattern)
            )

        if not suspicious:
            findings.extend(self._outliers(data, score, flagged))
        ids = data.ids
        metrics: dict[str, float] = {
            "flagged": float(flagged.sum()),
            "flag_rate": float(flagged.mean()),
            "suspicious_classes": float(len(suspicious)),
            "classes_analysed": float(len(stats)),
        }
        if patterns is not None:
            metrics["max_pattern_ratio"] = max(r for r, _, _ in patterns.values())
        table = ScoreTable(
            keys=ids,
            columns={
                "score": score,
                "que": que_score,
                "spectral": spectral_score,
                "cluster": cluster_score,
                "flagged": flagged,
            },
        )
        return CheckResult(
            check=self.name,
            findings=tuple(findings),
            scores=table,
            metrics=metrics,
            passed=not suspicious,
        )

    # -- internals -------------------------------------------------------------------------

    def _candidates(
        self, labels: npt.NDArray[Any], cls: Any, st: _ClassStats, n_total: int
    ) -> npt.NDArray[np.intp]:
        """The high-score mode of a class: the rows flagged if the class is reported."""
        rows = np.flatnonzero(labels == cls)
        # Ranks have no gap to split at; the split uses the raw score of the method
        # (QUE for auto), on a log scale because its values spread over decades.
        raw = st.cluster if self.method == "clustering" else st.que
        if self.method == "spectral":
            raw = st.spectral
        return np.asarray(rows[_high_mode(np.log1p(raw), self._cap(n_total, rows.size))])

    def _pattern_groups(
        self,
        data: Dataset,
        labels: npt.NDArray[Any],
        stats: dict[Any, _ClassStats],
    ) -> dict[Any, tuple[float, ShiftEvidence, npt.NDArray[np.intp]]] | None:
        """Per class: the rows sharing its strongest input shift (seeded from the model's
        representation, refined in the input), that shift's strength over the median
        class's (the null: what clean classes show on this data), and its evidence.
        ``None`` when the input cannot be searched."""
        X = pattern_space(data.flat())
        if X is None or len(stats) < 2:
            return None
        scale = feature_scale(X)
        suspect = np.zeros(labels.shape[0], dtype=bool)
        # Two looks per class: a pattern over a few features (patches, feature patterns)
        # and a single stamped feature, which the mean over a few features dilutes. The
        # second is noisier on clean data, so it must clear a higher bar.
        looks = ((TOP_FEATURES, self.pattern_threshold), (1, self.single_feature_threshold))
        found: list[dict[Any, tuple[ShiftEvidence, npt.NDArray[np.intp]]]] = [{}, {}]
        todo = list(stats)
        confirmed: set[Any] = set()

        def ratios() -> dict[Any, tuple[float, ShiftEvidence, npt.NDArray[np.intp]]]:
            # Each look against its own null, put on the scale of ``pattern_threshold``.
            out: dict[Any, tuple[float, ShiftEvidence, npt.NDArray[np.intp]]] = {}
            nulls = [_median_strength(f) for f in found]
            for cls in found[0]:
                best = max(
                    (found[i][cls][0].strength / nulls[i] * self.pattern_threshold / bar, i)
                    for i, (_, bar) in enumerate(looks)
                )
                ev, picked = found[best[1]][cls]
                out[cls] = (best[0], ev, picked)
            return out

        # Poisoned rows sit among clean classes in the input, so a clean row whose nearest
        # other-class neighbour is poison shows the trigger mirrored. Once a class's group
        # is confirmed, its rows leave the reference and the remaining classes are measured
        # again, strongest first, until no further class stands out.
        while todo:
            for cls in todo:
                rows = np.flatnonzero(labels == cls)
                rng = np.random.default_rng(self.random_state)
                residuals = class_residuals(X, labels, rows, rng, suspect)
                seeds = _seeds(stats[cls], residuals / scale, self.random_state)
                for i, (top, _) in enumerate(looks):
                    inside, evidence = strongest_group(residuals, seeds, scale, top)
                    found[i][cls] = (evidence, rows[inside])
            current = ratios()
            rest = [c for c in current if c not in confirmed]
            strongest = max(rest, key=lambda c: current[c][0], default=None)
            if strongest is None or current[strongest][0] < self.pattern_threshold:
                break
            confirmed.add(strongest)
            suspect[current[strongest][2]] = True
            todo = [c for c in rest if c != strongest]
        return ratios()

    def _validate(self, data: Dataset) -> None:
        if data.y is None:
            raise UsageError(
                data.source, "backdoor detection needs labels", "give the label column"
            )
        if data.n_samples > MAX_SAMPLES:
            raise UsageError(
                data.source,
                f"{data.n_samples} samples exceed the limit of {MAX_SAMPLES}",
                "check a random sample of the data, or each shard separately",
            )
        if self.method not in ("auto", "spectre", "spectral", "clustering"):
            raise UsageError(
                "method",
                f"unknown method {self.method!r}",
                "use auto, spectre, spectral or clustering",
            )
        if self.expected_poison_rate is not None and not 0 < self.expected_poison_rate < 1:
            raise UsageError("expected_poison_rate", "must be between 0 and 1", "give a fraction")
        if not 0 <= self.max_flag_rate < 1:
            raise UsageError("max_flag_rate", "must be in [0, 1)", "give a fraction")
        if not self.pattern_threshold > 1:
            raise UsageError("pattern_threshold", "must be above 1", "use about 2")
        if not self.single_feature_threshold > 1:
            raise UsageError("single_feature_threshold", "must be above 1", "use about 3")
        if not 2 <= self.n_components <= 64:
            raise UsageError("n_components", "must be between 2 and 64", "use about 10")

    def _representation(self, data: Dataset, model: Any | None) -> npt.NDArray[np.float64]:
        if self.features is not None:
            feats = np.asarray(self.features, dtype=np.float64)
            where = "features"
        elif model is not None:
            feats = penultimate_features(model, data.X)
            where = "the model's penultimate layer"
        else:
            raise UsageError(
                data.source,
                "backdoor detection needs a representation",
                "pass a model to run(), or features=... in the configuration",
            )
        feats = feats.reshape(feats.shape[0], -1) if feats.ndim > 1 else feats
        if feats.ndim != 2 or feats.shape[0] != data.n_samples:
            raise UsageError(
                where,
                f"shape {feats.shape} does not give one row per sample ({data.n_samples})",
                "compute the representation on the same rows, in the same order",
            )
        if feats.shape[1] > MAX_FEATURES:
            raise UsageError(
                where,
                f"{feats.shape[1]} columns exceed the limit of {MAX_FEATURES}",
                "pool or project the representation first",
            )
        if not np.all(np.isfinite(feats)):
            raise UsageError(where, "contains NaN or infinite values", "fix the model or data")
        return feats

    def _combine(self, st: _ClassStats) -> npt.NDArray[np.float64]:
        if self.method == "spectre":
            return st.que
        if self.method == "spectral":
            return st.spectral
        if self.method == "clustering":
            return st.cluster
        parts = [_rank01(st.que), _rank01(st.spectral), _rank01(st.cluster)]
        return np.asarray(np.mean(parts, axis=0), dtype=np.float64)

    def _cap(self, n_total: int, n_class: int) -> int:
        # A poisoned sub-population may outnumber the clean samples of its class (10% of a
        # ten-class set is half the target class), so the cap is generous by default.
        cap = int(0.7 * n_class)
        if self.expected_poison_rate is not None:
            cap = min(cap, math.ceil(2 * self.expected_poison_rate * n_total))
        return max(cap, 1)

    def _class_finding(
        self,
        data: Dataset,
        cls: Any,
        picked: npt.NDArray[np.intp],
        score: npt.NDArray[np.float64],
        st: _ClassStats,
        z: float,
        relabelled: float,
        pattern: tuple[float, ShiftEvidence] | None,
    ) -> Finding:
        order = picked[np.argsort(-score[picked], kind="stable")]
        shown = ", ".join(str(_plain(data.ids[i])) for i in order[:20])
        more = f" (+{order.size - 20} more)" if order.size > 20 else ""
        evidence = (
            f"class {cls!s}: {order.size} of {st.size} samples form a separate sub-population "
            f"(signal strength {st.strength:.1f}, robust z {z:.1f} across classes, "
            f"2-means silhouette {st.silhouette:.2f}; a classifier trained without them "
            f"assigns {relabelled:.0%} to other classes{_pattern_text(data, pattern)}); "
            f"samples: {shown}{more}"
        )
        return BACKDOOR_CLUSTER.finding(Location(path=data.source, field=str(cls)), evidence)

    def _outliers(
        self, data: Dataset, score: npt.NDArray[np.float64], flagged: npt.NDArray[np.bool_]
    ) -> list[Finding]:
        budget = int(self.max_flag_rate * data.n_samples)
        if budget == 0 or self.method != "auto":
            return []
        top = np.argsort(-score, kind="stable")[:budget]
        # Only samples at the very top of their class's ranks are worth a human's time.
        top = top[score[top] >= 0.99]
        if top.size == 0:
            return []
        shown = ", ".join(str(_plain(data.ids[i])) for i in top[:20])
        more = f" (+{top.size - 20} more)" if top.size > 20 else ""
        return [
            OUTLIER_SAMPLES.finding(
                Location(path=data.source),
                f"{top.size} samples score highest within their class: {shown}{more}",
            )
        ]


@dataclass(frozen=True)
class LabelFlipCheck:
    """Find label flips concentrated in one class, without a model.

    A sample is suspicious when at least ``min_agreement`` of its ``k`` nearest neighbours
    (Euclidean, in ``features`` if given, else in the flattened ``X``; scale columns first)
    carry one single other label. A class is reported when it holds at least
    ``min_cluster`` suspicious samples and at least ``concentration`` times the median count
    of the other classes.
    """

    k: int = 10
    min_agreement: float = 0.7
    min_cluster: int = 5
    concentration: float = 4.0
    features: npt.NDArray[Any] | None = None
    random_state: int = 0

    @property
    def name(self) -> str:
        return "label-flip"

    @property
    def rules(self) -> tuple[Rule, ...]:
        return (LABEL_FLIP_CLUSTER,)

    def run(self, data: Dataset, model: Any | None = None) -> CheckResult:
        """Score every sample by neighbour disagreement; report concentrated flips."""
        from sklearn.neighbors import NearestNeighbors

        if data.y is None:
            raise UsageError(data.source, "label-flip detection needs labels", "give labels")
        if data.n_samples > MAX_NEIGHBOUR_SAMPLES:
            raise UsageError(
                data.source,
                f"{data.n_samples} samples exceed the limit of {MAX_NEIGHBOUR_SAMPLES}",
                "check a random sample of the data",
            )
        if not 1 <= self.k < data.n_samples:
            raise UsageError("k", f"must be between 1 and {data.n_samples - 1}", "use 10")
        X = data.flat() if self.features is None else np.asarray(self.features)
        X = np.asarray(X, dtype=np.float64).reshape(data.n_samples, -1)
        if not np.all(np.isfinite(X)):
            raise UsageError(data.source, "features contain NaN or infinity", "impute first")
        labels = data.y
        _, codes = np.unique(labels, return_inverse=True)
        _, nbrs = NearestNeighbors(n_neighbors=self.k + 1).fit(X).kneighbors(X)
        nbr_codes = codes[nbrs[:, 1:]]  # column 0 is the sample itself
        n_codes = int(codes.max()) + 1
        counts = np.zeros((data.n_samples, n_codes))
        np.add.at(counts, (np.repeat(np.arange(data.n_samples), self.k), nbr_codes.ravel()), 1)
        counts[np.arange(data.n_samples), codes] = -1  # only *other* labels count
        other = counts.argmax(axis=1)
        share = counts.max(axis=1).clip(min=0) / self.k
        suspect = share >= self.min_agreement
        per_class = np.bincount(codes[suspect], minlength=n_codes)
        findings: list[Finding] = []
        flagged = np.zeros(data.n_samples, dtype=bool)
        for c in range(n_codes):
            rest = np.delete(per_class, c)
            baseline = float(np.median(rest)) if rest.size else 0.0
            if per_class[c] < self.min_cluster or per_class[c] < self.concentration * max(
                baseline, 1.0
            ):
                continue
            rows = np.flatnonzero(suspect & (codes == c))
            flagged[rows] = True
            cls = _plain(labels[rows[0]])
            sources = np.bincount(other[rows], minlength=n_codes)
            src = _plain(labels[np.flatnonzero(codes == int(sources.argmax()))[0]])
            shown = ", ".join(str(_plain(data.ids[i])) for i in rows[:20])
            more = f" (+{rows.size - 20} more)" if rows.size > 20 else ""
            findings.append(
                LABEL_FLIP_CLUSTER.finding(
                    Location(path=data.source, field=str(cls)),
                    f"class {cls!s}: {rows.size} samples sit among other labels (mostly "
                    f"{src!s}); median of other classes {baseline:.0f}; samples: {shown}{more}",
                )
            )
        return CheckResult(
            check=self.name,
            findings=tuple(findings),
            scores=ScoreTable(keys=data.ids, columns={"score": share, "flagged": flagged}),
            metrics={
                "suspects": float(suspect.sum()),
                "flagged": float(flagged.sum()),
                "flag_rate": float(flagged.mean()),
            },
            passed=not findings,
        )


@dataclass(frozen=True)
class _ClassStats:
    size: int
    que: npt.NDArray[np.float64]
    spectral: npt.NDArray[np.float64]
    cluster: npt.NDArray[np.float64]
    strength: float
    """Top eigenvalue of the robustly whitened class covariance (about 1 for a clean,
    Gaussian-like class; large when a sub-population pulls along one direction)."""
    silhouette: float


def _class_scores(
    feats: npt.NDArray[np.float64], n_components: int, random_state: int
) -> _ClassStats:
    from sklearn.cluster import KMeans
    from sklearn.covariance import MinCovDet
    from sklearn.metrics import silhouette_score

    n = feats.shape[0]
    centred = feats - np.median(feats, axis=0)
    # PCA by SVD of the median-centred class: robust centring, cheap projection.
    _, sing, vt = np.linalg.svd(centred, full_matrices=False)
    k = int(min(n_components, vt.shape[0], n // 4, np.count_nonzero(sing > 1e-9 * sing[0])))
    k = max(k, 1)
    z = centred @ vt[:k].T
    mcd = MinCovDet(support_fraction=0.5, random_state=random_state).fit(z)
    cov = np.asarray(mcd.covariance_, dtype=np.float64)
    # Shrink towards the average variance: a direction almost constant in the majority
    # (a dead ReLU unit) would otherwise be blown up by the whitening.
    cov = cov + 0.05 * float(np.trace(cov)) / k * np.eye(k)
    chol = np.linalg.cholesky(cov)
    white = np.linalg.solve(chol, (z - mcd.location_).T).T
    evals, evecs = np.linalg.eigh(white.T @ white / n)
    top = evecs[:, -1]
    # QUE (quantum entropy) scoring with alpha 4: weights directions by how much their
    # variance exceeds the clean, whitened level of 1.
    excess = (evals - 1.0) / max(float(evals[-1]) - 1.0, 1e-9)
    weights = np.exp(4.0 * excess)
    proj = white @ evecs
    que = (proj**2) @ weights / float(weights.sum())
    along = white @ top
    spread = float(np.median(np.abs(along - np.median(along)))) * 1.4826 + 1e-9
    spectral = ((along - np.median(along)) / spread) ** 2
    km = KMeans(n_clusters=2, n_init=4, random_state=random_state).fit(white)
    lab = km.labels_
    counts = np.bincount(lab, minlength=2)
    if counts.min() >= 2:
        sil = float(silhouette_score(white, lab, random_state=random_state))
    else:
        sil = 0.0
    # The suspect cluster is the one with the higher mean QUE score; distance from the other
    # cluster's centre is the per-sample clustering score.
    suspect = int(np.argmax([que[lab == c].mean() if counts[c] else -1.0 for c in (0, 1)]))
    other = km.cluster_centers_[1 - suspect]
    cluster = np.linalg.norm(white - other, axis=1)
    return _ClassStats(
        size=n,
        que=np.asarray(que, dtype=np.float64),
        spectral=np.asarray(spectral, dtype=np.float64),
        cluster=np.asarray(cluster, dtype=np.float64),
        strength=float(evals[-1]),
        silhouette=sil,
    )


MAX_RECLASSIFY_WIDTH = 4096
"""Widest flattened input used for exclusionary reclassification (wider: the representation)."""


def _reclassification_space(data: Dataset, feats: npt.NDArray[np.float64]) -> npt.NDArray[Any]:
    # The raw input carries what the sample looks like apart from the trigger; the poisoned
    # model's representation has learned to map the trigger onto the target class.
    flat = data.flat()
    if flat.shape[1] <= MAX_RECLASSIFY_WIDTH and np.issubdtype(flat.dtype, np.number):
        flat = np.asarray(flat, dtype=np.float64)
        if np.all(np.isfinite(flat)):
            return flat
    return feats


def exclusion_relabel_fraction(
    X: npt.NDArray[Any],
    labels: npt.NDArray[Any],
    group: npt.NDArray[np.intp],
    *,
    variance: float = 0.95,
    ridge: float = 1e-3,
) -> float:
    """Share of ``group`` (row indices, all of one label) that a classifier trained on every
    other row assigns to a different label (exclusionary reclassification).

    The classifier is a closed-form ridge one-vs-rest on the principal components (keeping
    ``variance`` of the variance) of the rows carrying *other* labels, so a pattern that only
    the group's label carries (a trigger) lies outside the space it sees. A value near 1 says
    the group belongs to its label only through something it alone carries; near 0, that the
    rest of its label explains it. Deterministic; cost O(n d^2) for ``d`` <= 64 components.
    """
    n = X.shape[0]
    if group.size == 0 or group.size >= n:
        return 0.0
    Xf = np.asarray(X, dtype=np.float64).reshape(n, -1)
    cls = labels[group[0]]
    keep = np.ones(n, dtype=bool)
    keep[group] = False
    other = labels != cls
    if not other.any():
        return 0.0
    mu = Xf[keep].mean(axis=0)
    _, sing, vt = np.linalg.svd(Xf[other] - mu, full_matrices=False)
    share = np.cumsum(sing**2) / max(float(np.sum(sing**2)), 1e-12)
    k = min(int(np.searchsorted(share, variance)) + 1, 64, vt.shape[0])
    basis = vt[:k].T
    train = (Xf[keep] - mu) @ basis
    scale = train.std(axis=0) + 1e-9
    train = np.c_[train / scale, np.ones(train.shape[0])]
    test = np.c_[((Xf[group] - mu) @ basis) / scale, np.ones(group.size)]
    classes, codes = np.unique(labels[keep], return_inverse=True)
    target = np.eye(classes.size)[codes]
    gram = train.T @ train + ridge * train.shape[0] * np.eye(train.shape[1])
    weights = np.linalg.solve(gram, train.T @ target)
    predicted = classes[(test @ weights).argmax(axis=1)]
    return float(np.mean(predicted != cls))


SEED_SHARES = (0.05, 0.1, 0.2, 0.35, 0.5, 0.65)
"""Shares of a class, ranked by representation score, that seed the input-space search."""


def _median_strength(found: dict[Any, tuple[ShiftEvidence, npt.NDArray[np.intp]]]) -> float:
    """The median class's shift strength: what clean classes show on this data."""
    return max(float(np.median([ev.strength for ev, _ in found.values()])), 1e-9)


def _seeds(
    st: _ClassStats, scaled_residuals: npt.NDArray[np.float64], random_state: int
) -> list[npt.NDArray[np.bool_]]:
    """Starting groups for :func:`~mlwarden.ml.trigger_pattern.strongest_group`: the top and
    bottom shares of the class by QUE score in the representation (a poisoned majority of
    the class can be what the robust fit takes as normal, so its clean rows score high), and
    2- and 3-means clusters of the residuals themselves."""
    from sklearn.cluster import KMeans

    order = np.argsort(-st.que, kind="stable")
    n = order.size
    seeds: list[npt.NDArray[np.bool_]] = []
    for share in SEED_SHARES:
        top = np.zeros(n, dtype=bool)
        top[order[: max(2, int(share * n))]] = True
        seeds.append(top)
        if share >= 0.35:
            seeds.append(~top)
    for k in (2, 3):
        if n >= 2 * k:
            lab = KMeans(n_clusters=k, n_init=4, random_state=random_state).fit_predict(
                scaled_residuals
            )
            seeds.extend(lab == c for c in range(k))
    return seeds


def _high_mode(values: npt.NDArray[np.float64], cap: int) -> npt.NDArray[np.intp]:
    """Indices of the upper group of a two-group (Otsu) split of ``values``, at most ``cap``."""
    n = values.size
    order = np.argsort(values, kind="stable")
    s = values[order]
    csum = np.cumsum(s)
    best, cut = -1.0, n
    lo = max(1, n - cap)
    for i in range(lo, n):
        left, right = i, n - i
        m1, m2 = csum[i - 1] / left, (csum[-1] - csum[i - 1]) / right
        between = left * right * (m2 - m1) ** 2
        if between > best:
            best, cut = between, i
    return np.asarray(order[cut:], dtype=np.intp)


def _pattern_text(data: Dataset, pattern: tuple[float, ShiftEvidence] | None) -> str:
    if pattern is None:
        return ""
    ratio, ev = pattern
    # Named columns (tables) are shown by name; image pixels by flattened index.
    names = data.feature_names
    feats = ", ".join(names[j] if names else f"#{j}" for j in ev.features[:3])
    return (
        f"; unlike their nearest other-class neighbours they share a fixed shift on input "
        f"features {feats}, {ratio:.1f} times the median class"
    )


def _rank01(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    ranks = np.argsort(np.argsort(values, kind="stable"), kind="stable")
    return np.asarray(ranks / max(values.size - 1, 1), dtype=np.float64)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def suspicious_by_class(
    result: CheckResult, labels: npt.NDArray[Any]
) -> dict[Any, list[tuple[Any, float]]]:
    """Flagged ``(sample id, score)`` pairs of a :class:`BackdoorDataCheck` result, grouped by
    suspected target class (the label the flagged samples carry), most suspicious first.
    ``labels`` are the ``y`` of the data the check ran on."""
    flagged = np.asarray(result.scores.columns["flagged"], dtype=bool)
    scores = np.asarray(result.scores.columns["score"], dtype=float)
    out: dict[Any, list[tuple[Any, float]]] = {}
    for i in np.flatnonzero(flagged)[np.argsort(-scores[flagged], kind="stable")]:
        out.setdefault(_plain(labels[i]), []).append(
            (_plain(result.scores.keys[i]), float(scores[i]))
        )
    return out
