"""Process-wide objects: Powertools observability and the clients each function makes once."""
