"""OrderTrail's operator tools: the tenant onboarding CLI (`make tenant ARGS=...`, docs/operations.md#tenant-onboarding)."""
