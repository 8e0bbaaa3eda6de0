"""Fuzz tests: schemathesis on the served OpenAPI document and hypothesis on the routes."""
