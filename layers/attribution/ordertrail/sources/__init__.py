"""Platform payloads and their signatures: TikTok Shop, Shopify and OrderTrail's own signed batches."""
