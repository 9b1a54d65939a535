"""`lakecdp`: one command line for every step. Make targets and Airflow tasks call these.

One module per command as users type it (`lakecdp identity run` -> `identity.py`); `_app.py`
holds the root app and its options, `render.py` the console output the commands and the demo
share. The tree is assembled here, in the order `lakecdp --help` lists it. Each module imports
what a command needs inside the command, so `lakecdp --help` loads no Spark, pandas or MLflow.
"""

from lakecdp.cli import (
    airflow,
    collect,
    dbt,
    demo,
    features,
    gate,
    generate,
    identity,
    ingest,
    measure,
    model,
    privacy,
    serve,
    sql,
    status,
    sync,
    ui,
)
from lakecdp.cli._app import app

# Top-level commands: a module's app added without a name merges its command into the root.
app.add_typer(generate.app)
app.add_typer(dbt.app)
app.add_typer(status.app)
app.add_typer(demo.app)
app.add_typer(serve.app)
app.add_typer(gate.app)
# Command groups, under the name users type.
app.add_typer(collect.app, name="collect")
app.add_typer(ingest.app, name="ingest")
app.add_typer(identity.app, name="identity")
app.add_typer(features.app, name="features")
app.add_typer(model.app, name="model")
app.add_typer(measure.app, name="measure")
app.add_typer(sql.app, name="sql")
app.add_typer(sync.app, name="sync")
app.add_typer(privacy.app, name="privacy")
app.add_typer(airflow.app, name="airflow")
app.add_typer(ui.app, name="ui")

__all__ = ["app"]
