"""Supervisor metrics over the event trail (DESIGN §4, docs/metrics.md).

- :mod:`server.metrics.families`     -- each family's rows and each count's value, as SQL
- :mod:`server.metrics.planning`     -- a query's scopes, period and grouping resolved (Plan)
- :mod:`server.metrics.counting`     -- counts per group
- :mod:`server.metrics.group_labels` -- the groups' names and order
- :mod:`server.metrics.drilldown`    -- the cases behind each number
- :mod:`server.metrics.office_clock` -- working hours for many pairs of instants at once
- :mod:`server.metrics.scorecards`   -- department and grid-worker scorecards
- :mod:`server.metrics.export`       -- .xlsx and .csv
- :mod:`server.metrics.projection`   -- ``metric_events``, the trail folded into case states
- :mod:`server.metrics.service`      -- settings, jurisdiction and parameters (shared by API/CLI)

The definitions themselves are plain code in :mod:`server.domain.metric_definitions`
(periods: :mod:`server.domain.periods`; scorecards: :mod:`server.domain.scorecards`).
"""

from server.metrics.counting import Result, compute
from server.metrics.drilldown import Drill, drilldown
from server.metrics.planning import MetricsQuery, QueryError, Scope, plan

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
