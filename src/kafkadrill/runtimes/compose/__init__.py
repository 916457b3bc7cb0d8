"""The `compose` runtime: a topology as Docker Compose containers."""
