"""Supervisor metrics over the event trail (DESIGN §4, docs/metrics.md).

- :mod:`server.metrics.query`      -- counts per group, and the cases behind each number
- :mod:`server.metrics.worktime`   -- working hours for many pairs of instants at once
- :mod:`server.metrics.scorecards` -- department and grid-worker scorecards
- :mod:`server.metrics.export`     -- .xlsx and .csv
- :mod:`server.metrics.projection` -- ``metric_events``, the trail folded into case states
- :mod:`server.metrics.service`    -- settings, jurisdiction and parameters (shared by API/CLI)

The definitions themselves are plain code in :mod:`server.domain.metrics`.
"""

from server.metrics.query import (
    Drill,
    MetricsQuery,
    QueryError,
    Result,
    Scope,
    compute,
    drilldown,
    plan,
)

__all__ = [
    "Drill",
    "MetricsQuery",
    "QueryError",
    "Result",
    "Scope",
    "compute",
    "drilldown",
    "plan",
]
