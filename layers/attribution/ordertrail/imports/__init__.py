"""History imports: a store's past orders brought in through the ingest path, window by window (docs/operations.md#import-history)."""
