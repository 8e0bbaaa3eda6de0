"""Re-attribution runs: a date range re-attributed under the settings of now (docs/reattribution.md)."""
