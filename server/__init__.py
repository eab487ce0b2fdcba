"""Wangge server: the Flask app, the domain rules, the models and the use cases."""

from server.app import create_app

__all__ = ["create_app"]
