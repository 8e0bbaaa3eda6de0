"""The seller dashboard: the HTML page, its charts and its signed links."""
