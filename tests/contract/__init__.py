"""Contract tests: the platforms' payloads, signatures and the Events API schema."""
