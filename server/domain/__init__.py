"""Domain rules of Wangge: plain Python, no Flask, no SQLAlchemy.

- :mod:`server.domain.errors`   -- ``DomainError`` and its subclasses (machine code + zh/en message)
- :mod:`server.domain.workflow` -- the case lifecycle as one table (``RULES``) and ``check()``
- :mod:`server.domain.sources`  -- which role may file a case with which source
- :mod:`server.domain.fields`   -- validation of the payload an action carries
- :mod:`server.domain.worktime` -- statutory working calendar, office hours and deadlines

See ``docs/workflow.md`` for the human-readable version of these rules.
"""
