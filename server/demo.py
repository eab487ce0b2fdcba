"""The demo county (filled in once geography and the workflow exist)."""

from __future__ import annotations

from sqlalchemy.orm import Session


def seed_demo(session: Session, *, if_empty: bool = False, seed: int = 1) -> str:
    raise NotImplementedError
