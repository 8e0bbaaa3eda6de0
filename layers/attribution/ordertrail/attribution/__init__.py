"""Attributing an order to the touchpoints that led to it, re-attribution and reviews."""
