"""The model registry: scan verdicts and quarantine, stages, promotions with approvals."""
