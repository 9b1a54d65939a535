"""Activation (layer 4): reverse-ETL audience syncs. Imports the kernel only; meets the other
layers through gold tables and contracts."""
