"""Governance (across the layers): consent ledger, suppression, privacy requests, audit. Imports
the kernel only; every layer consults it through tables and the kernel's contracts."""
