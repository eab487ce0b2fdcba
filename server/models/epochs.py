"""Cache epochs: one row per topic of rarely changed rows that processes cache (server/cache.py).

Database triggers (migration 0007) move a topic's ``n`` whenever a row of one of its tables is
written, by any process or by hand in ``psql``; a process compares the numbers it read at the
start of a request with those its caches were built at.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base


class CacheEpoch(Base):
    __tablename__ = "cache_epochs"

    topic: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)
