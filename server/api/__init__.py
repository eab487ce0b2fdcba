"""The JSON API under /api/v1: thin blueprints over the use cases."""
