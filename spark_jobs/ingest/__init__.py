"""Bronze ingestion: declared file sources in batch, collector events in micro-batches."""
