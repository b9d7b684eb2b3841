"""Run Presidio's pattern recognizers on texts read from stdin (JSON in, JSON out).

Runs inside ``benchmarks/.venvs/presidio`` (see ``presidio_setup.sh``), never in the
project venv. Input: ``{"items": [[text, context], ...], "threshold": 0.0}``. Output:
``{"results": [[[entity_type, start, end, score], ...], ...], "seconds": analyse_time}``.

Presidio's NLP engine is pointed at the blank spaCy pipeline saved by the setup script, so
nothing is downloaded. Country-specific recognizers are registered for English, because the
corpus is English text carrying European identifiers; the phone recognizer gets the corpus'
regions. Column names are passed as Presidio ``context`` words.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer import predefined_recognizers as pr
from presidio_analyzer.nlp_engine import NlpEngineProvider

_RECOGNIZERS = (
    "CreditCardRecognizer",
    "UsSsnRecognizer",
    "IbanRecognizer",
    "EmailRecognizer",
    "IpRecognizer",
    "DateRecognizer",
    "UkPostcodeRecognizer",
    "DePlzRecognizer",
    "DeTaxIdRecognizer",
    "DeTaxNumberRecognizer",
    "EsNifRecognizer",
    "EsNieRecognizer",
    "ItFiscalCodeRecognizer",
    "PlPeselRecognizer",
    "SePersonnummerRecognizer",
    "UkNinoRecognizer",
    "MedicalLicenseRecognizer",
)
_PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "PL", "SE")


def build_engine() -> AnalyzerEngine:
    blank = Path(sys.prefix) / "blank_en"
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": str(blank)}],
        }
    )
    registry = RecognizerRegistry(supported_languages=["en"])
    for name in _RECOGNIZERS:
        cls = getattr(pr, name, None)
        if cls is not None:
            registry.add_recognizer(cls(supported_language="en"))
    registry.add_recognizer(
        pr.PhoneRecognizer(supported_language="en", supported_regions=_PHONE_REGIONS)
    )
    return AnalyzerEngine(
        nlp_engine=provider.create_engine(), registry=registry, supported_languages=["en"]
    )


def main() -> None:
    request = json.load(sys.stdin)
    engine = build_engine()
    threshold = float(request.get("threshold", 0.0))
    engine.analyze("warm up 4111 1111 1111 1111", language="en")
    results = []
    start = time.perf_counter()
    for text, context in request["items"]:
        found = engine.analyze(
            text,
            language="en",
            context=[context] if context else None,
            score_threshold=threshold,
        )
        results.append([[r.entity_type, r.start, r.end, r.score] for r in found])
    seconds = time.perf_counter() - start
    json.dump({"results": results, "seconds": seconds}, sys.stdout)


if __name__ == "__main__":
    main()
