"""Order sources: webhook signatures, the TikTok Shop API client and per-store order normalisation."""
