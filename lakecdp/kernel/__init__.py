"""The kernel: configuration, contracts, the Spark session, the Delta table API and registry,
and the run log. It imports nothing else of the project; every layer and the wiring import it."""
