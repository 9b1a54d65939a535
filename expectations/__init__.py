"""Great Expectations quality gates for the lakehouse stages (bronze, identity, gold).

`run_gate(spark, config, stage)` validates a stage's tables and raises `GateFailed` naming every
broken expectation; `lakecdp gate STAGE` is the same from the command line. See README.md.
"""

from expectations.gates import (
    GateFailed,
    GateResult,
    Outcome,
    data_docs_dir,
    quality_root,
    run_gate,
)
from expectations.suites import STAGES

__all__ = [
    "STAGES",
    "GateFailed",
    "GateResult",
    "Outcome",
    "data_docs_dir",
    "quality_root",
    "run_gate",
]
