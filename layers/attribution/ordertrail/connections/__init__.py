"""Store connections: connect a TikTok Shop through OAuth, keep its tokens fresh, show and end the connection."""
