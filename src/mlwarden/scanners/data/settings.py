"""Settings of the regulated-data scanners (``ScanSettings.pii``; defaults when absent)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mlwarden.findings import Severity
from mlwarden.limits import MiB


@dataclass(frozen=True)
class DataScanSettings:
    """How regulated-data discovery reads files and reports what it finds.

    Every bound here is enforced on hostile input: reaching one is reported (the file's
    status becomes partial), never a crash or an unbounded allocation.
    """

    severity_overrides: Mapping[str, Severity] = field(default_factory=dict)
    """Severity per entity id (``"email"``) or rule id (``"MLW-PII-007"``); an entity id
    wins over its rule id. Example: ``{"ip_address": Severity.LOW}``."""
    entities: frozenset[str] | None = None
    """Entity ids to look for (default: all)."""
    region: str = "US"
    """ISO country for phone numbers written without a ``+`` country code."""
    min_confidence: float = 0.5
    """Matches below this value-level confidence are not reported."""
    head_rows: int = 1_000
    """Rows of a table examined in full before columns are split into dense and sparse."""
    sample_rows: int = 1_000
    """Reservoir size per dense column: values sampled uniformly from the rest of the table."""
    dense_candidates: float = 0.3
    """Candidates per value above which a column is *dense* (classified from a sample);
    below it a column is *sparse* (free text: every value is searched)."""
    max_columns: int = 2_048
    """Columns of a table (CSV, Parquet) or distinct keys of JSON lines."""
    max_cell_chars: int = 65_536
    """Characters of one cell examined; longer cells are cut (and counted)."""
    max_line_chars: int = 8 * MiB
    """Longest line of a CSV/TSV or JSON-lines file read (characters); longer lines are
    skipped and reported. Free text has no line limit (it is read in chunks)."""
    max_json_depth: int = 32
    """Nesting of JSON values flattened into columns; deeper values are skipped."""
    max_findings: int = 200
    """Findings per file; the rest are summarised in one finding."""
    max_bad_rows: int = 1_000
    """Malformed rows tolerated (and reported) before a table is declared malformed."""
    text_chunk_chars: int = 1 << 20
    """Characters of free text searched per pass."""
    use_ner: bool = True
    """Use spaCy for names and places in free text when it is installed."""
    seed: int = 0
    """Seed of the reservoir sampler: the same file gives the same report."""
