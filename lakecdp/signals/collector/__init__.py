"""Segment-compatible HTTP event collector that lands events durably as JSONL segments."""
