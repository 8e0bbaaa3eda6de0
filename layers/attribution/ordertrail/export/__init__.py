"""Conversion export: sending attributed orders to TikTok's Events API in 30-day chunks."""
