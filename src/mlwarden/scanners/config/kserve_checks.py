"""KServe ``InferenceService`` objects: authentication and visibility, model sources.

KServe serves models without authentication unless the service opts in
(``serving.kserve.io/enable-auth: "true"``) or an Istio ``AuthorizationPolicy`` /
``RequestAuthentication`` guards it, and a serverless InferenceService is published
through the cluster's ingress unless it is marked cluster-local. Policies elsewhere in
the cluster are invisible to a file scan, so the finding names what to add to this file.
"""

from __future__ import annotations

from collections.abc import Mapping

from mlwarden.findings import Rule, Severity
from mlwarden.scanners.config.addresses import is_plaintext_remote
from mlwarden.scanners.config.kubernetes_checks import ManifestContext, walk
from mlwarden.scanners.config.secret_names import redact
from mlwarden.taxonomy import (
    ATLAS_EXPLOIT_PUBLIC_APP,
    CWE_CLEARTEXT_TRANSMISSION,
    CWE_DOWNLOAD_WITHOUT_INTEGRITY,
    CWE_MISSING_AUTHENTICATION,
)

NO_AUTH = Rule(
    "MLW-CFG-045",
    "KServe InferenceService without authentication",
    Severity.HIGH,
    'Annotate it with `serving.kserve.io/enable-auth: "true"` (or add an Istio '
    "AuthorizationPolicy/RequestAuthentication for it), and mark internal services "
    "`networking.kserve.io/visibility: cluster-local`.",
    (CWE_MISSING_AUTHENTICATION, ATLAS_EXPLOIT_PUBLIC_APP),
    "Anyone who reaches the endpoint can query the model, extract it through its "
    "predictions or run up GPU costs.",
)
PLAINTEXT_MODEL_SOURCE = Rule(
    "MLW-CFG-046",
    "KServe model downloaded over plaintext HTTP",
    Severity.MEDIUM,
    "Serve model files over https (or from an object store with TLS) so they cannot be "
    "replaced in transit; pickled models run code when loaded.",
    (CWE_CLEARTEXT_TRANSMISSION, CWE_DOWNLOAD_WITHOUT_INTEGRITY),
)
RULES = (NO_AUTH, PLAINTEXT_MODEL_SOURCE)

AUTH_KINDS = frozenset({"AuthorizationPolicy", "RequestAuthentication"})
_AUTH_ANNOTATION = "serving.kserve.io/enable-auth"
_VISIBILITY_KEYS = ("networking.kserve.io/visibility", "networking.knative.dev/visibility")


def _strings(value: object) -> Mapping[str, object]:
    return value if isinstance(value, dict) else {}


def check_inference_service(
    document: Mapping[str, object], ctx: ManifestContext, *, policy_in_file: bool
) -> None:
    """Check one ``InferenceService``; ``policy_in_file`` is True when the same file holds
    an Istio authorization object."""
    metadata = _strings(document.get("metadata"))
    annotations = _strings(metadata.get("annotations"))
    labels = _strings(metadata.get("labels"))
    enabled = str(annotations.get(_AUTH_ANNOTATION, "")).strip().lower() == "true"
    if not enabled and not policy_in_file:
        local = any(
            str(source.get(key, "")).strip() == "cluster-local"
            for source in (annotations, labels)
            for key in _VISIBILITY_KEYS
        )
        scope = "cluster-local" if local else "published through the ingress"
        ctx.add(
            NO_AUTH,
            f"no {_AUTH_ANNOTATION} annotation and no AuthorizationPolicy in this file ({scope})",
            ("metadata",),
            Severity.MEDIUM if local else None,
        )
    spec = document.get("spec")
    for path, mapping in walk(spec, ("spec",)):
        for key in ("storageUri", "storageUris"):
            values = mapping.get(key)
            for uri in values if isinstance(values, list) else [values]:
                if isinstance(uri, str) and is_plaintext_remote(uri):
                    ctx.add(PLAINTEXT_MODEL_SOURCE, f"{key}: {redact(uri)}", (*path, key))
