"""TikTok's Events API: hashing, the event contract, the client and its errors."""
