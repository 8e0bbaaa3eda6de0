"""Receiving orders and touchpoints from the platforms and from signed senders."""
