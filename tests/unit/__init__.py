"""Unit tests of the pure layer and of the local harness pieces."""
