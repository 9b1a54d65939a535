"""Contracts shared by the collector, the ingestion jobs and later layers."""
