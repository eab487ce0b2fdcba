"""Use cases: each action on the system as one transaction over the models.

They know nothing of HTTP: the API blueprints, the CLI, the demo seed and Open311 call them with a
:class:`~server.usecases.context.Context` and an :class:`~server.usecases.context.Actor`.
"""
