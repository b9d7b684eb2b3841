"""The rules the runtime monitor reports (area ``MON``)."""

from __future__ import annotations

from mlwarden.findings import Rule, Severity
from mlwarden.taxonomy import ATLAS_EXFILTRATION, CWE_IMPROPER_INPUT

FEATURE_DRIFT = Rule(
    id="MLW-MON-001",
    title="Feature distribution drifted",
    severity=Severity.MEDIUM,
    remediation=(
        "Compare recent inputs with the reference data for this feature; find the upstream "
        "change (new source, unit, encoding or population) and retrain or fix the pipeline."
    ),
    description=(
        "A per-feature two-sample test (KS for numbers, chi-squared for categories, or the "
        "PSI statistic) rejected 'same distribution as the reference' after multiple-test "
        "correction over every test run on the window."
    ),
)
JOINT_DRIFT = Rule(
    id="MLW-MON-002",
    title="Joint feature distribution drifted",
    severity=Severity.MEDIUM,
    remediation=(
        "The relation between features changed (e.g. correlations), even where each feature "
        "alone may look unchanged; review the data pipeline and the model's validity."
    ),
    description="MMD (random Fourier features) or a classifier two-sample test rejected.",
)
PREDICTION_SHIFT = Rule(
    id="MLW-MON-003",
    title="Prediction distribution shifted",
    severity=Severity.MEDIUM,
    remediation=(
        "The model now predicts classes in different proportions than on the reference "
        "data; check for input drift, a changed population or targeted manipulation."
    ),
)
CONFIDENCE_COLLAPSE = Rule(
    id="MLW-MON-004",
    title="Model confidence collapsed",
    severity=Severity.HIGH,
    remediation=(
        "The model's top-class probability fell well below its reference level; inputs are "
        "likely out of distribution or adversarial. Review recent traffic before trusting "
        "predictions."
    ),
)
OOD_INPUTS = Rule(
    id="MLW-MON-005",
    title="Excess out-of-distribution inputs",
    severity=Severity.MEDIUM,
    remediation=(
        "More inputs than expected lie far from the reference data (robust Mahalanobis "
        "distance); inspect the listed samples."
    ),
    tags=(CWE_IMPROPER_INPUT,),
)
EXTREME_INPUT = Rule(
    id="MLW-MON-006",
    title="Input far outside the reference data",
    severity=Severity.MEDIUM,
    remediation=(
        "This sample is farther from the reference data than any reference sample by a "
        "wide margin; it may be corrupted or adversarial. Inspect it before acting on the "
        "prediction."
    ),
    tags=(CWE_IMPROPER_INPUT,),
)
EXTRACTION_PATTERN = Rule(
    id="MLW-MON-007",
    title="Model-extraction query pattern",
    severity=Severity.HIGH,
    remediation=(
        "One principal sends far more near-decision-boundary queries than normal traffic, a "
        "pattern of model stealing; rate-limit or suspend the principal and review its "
        "queries."
    ),
    tags=(ATLAS_EXFILTRATION,),
)

ALL_RULES = (
    FEATURE_DRIFT,
    JOINT_DRIFT,
    PREDICTION_SHIFT,
    CONFIDENCE_COLLAPSE,
    OOD_INPUTS,
    EXTREME_INPUT,
    EXTRACTION_PATTERN,
)
