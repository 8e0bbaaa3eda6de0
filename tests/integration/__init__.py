"""Integration tests: every behaviour through the real handlers, template and a DynamoDB API."""
