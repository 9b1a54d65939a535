"""`python -m lakecdp.cli`: how servers and tests start the CLI in a subprocess."""

from lakecdp.cli import app

app()
