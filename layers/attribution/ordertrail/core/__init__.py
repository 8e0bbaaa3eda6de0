"""Pure domain types and rules: no AWS, no Powertools, no network."""
