"""Load `dags/` as Airflow's DAG processor would (no metadata database) and print, as JSON,
what the DagBag test checks: import errors, each DAG's settings and tasks, and which heavy
modules the parse imported. Run as a script, in a fresh process with its own AIRFLOW_HOME."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HEAVY = ("pyspark", "delta", "feast", "mlflow", "dbt", "great_expectations", "sklearn")


def describe(folder: Path) -> dict[str, object]:
    from airflow.dag_processing.dagbag import DagBag

    clock = time.monotonic()
    bag = DagBag(dag_folder=str(folder), include_examples=False)
    seconds = time.monotonic() - clock
    dags = {}
    for dag_id, dag in bag.dags.items():
        dags[dag_id] = {
            "file": Path(dag.fileloc).stem,
            "tags": sorted(dag.tags),
            "owner": dag.owner,
            "doc_md": bool(dag.doc_md and dag.doc_md.strip()),
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "start_date": str(dag.start_date),
            "tasks": {
                task.task_id: {
                    "retries": task.retries,
                    "exponential": bool(task.retry_exponential_backoff),
                    "timeout": task.execution_timeout.total_seconds()
                    if task.execution_timeout
                    else None,
                    "pool": task.pool,
                    "command": getattr(task, "bash_command", None),
                    "skip_on_exit_code": sorted(getattr(task, "skip_on_exit_code", None) or []),
                    "upstream": sorted(task.upstream_task_ids),
                    "outlets": [getattr(o, "uri", str(o)) for o in task.outlets],
                }
                for task in dag.tasks
            },
        }
    return {
        "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
        "dags": dags,
        "heavy_modules": sorted({m.split(".")[0] for m in sys.modules if m.startswith(HEAVY)}),
        "seconds": round(seconds, 2),
    }


if __name__ == "__main__":
    print(json.dumps(describe(Path(sys.argv[1]))))
