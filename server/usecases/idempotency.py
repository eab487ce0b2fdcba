"""Creates a client may send again: the client-generated uuid that names one create, and the
digest of its content that tells a replay (same content) from a conflict (other content).

Cases, photos and base data all key their creates this way; what a replay answers is each
one's own (:func:`server.usecases.base_data.common.replay` for base data)."""

from __future__ import annotations

import hashlib
import json
import uuid as uuidlib
from typing import Any

from server.usecases.errors import ValidationFailed


def content_hash(payload: dict[str, Any]) -> str:
    """SHA-256 of ``payload`` as canonical JSON (sorted keys; dates and the like as text)."""
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def client_uuid(value: Any, field: str = "uuid") -> str:
    """``value`` as a canonical UUID string, else a 400 on ``field``."""
    try:
        return str(uuidlib.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise ValidationFailed(
            "需要客户端生成的 UUID / a client-generated UUID is required",
            fields={field: "not a UUID"},
        ) from None
