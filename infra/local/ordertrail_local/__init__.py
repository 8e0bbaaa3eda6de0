"""Local stack: the real handlers on moto, with no AWS account and no Docker."""
