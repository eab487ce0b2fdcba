"""The address-search index: the tokens of each place's text (server/usecases/address_search.py).

Derived from ``places`` (rebuilt by ``flask addresses reindex``). The primary key
(token, depth, place_id) is the posting list of a token, shallowest places first (depth 0 an
estate … 3 a room), so a search reads it in the order it answers and stops at its limit; the
index on place_id serves a place's re-indexing."""

from __future__ import annotations

from sqlalchemy import ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base


class AddressToken(Base):
    __tablename__ = "address_tokens"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    depth: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    place_id: Mapped[int] = mapped_column(
        ForeignKey("places.id", ondelete="CASCADE"), primary_key=True, index=True
    )
