"""The test suites: unit, contract, integration, fuzz and browser (docs/testing.md)."""
