"""The dashboard in headless chromium, served by the local stack."""
