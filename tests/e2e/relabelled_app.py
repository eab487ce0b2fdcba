"""The app with labels changed in the domain's vocabulary, for ``test_labels_from_the_server``.

gunicorn serves ``tests.e2e.relabelled_app:app``: the one table of names and labels
(``server/domain/vocabulary.py``) is changed before the app is made, as an edit of the domain
would change it. Nothing in the web app is rebuilt.
"""

from __future__ import annotations

from server.domain import vocabulary

# name → (zh, en) as a domain edit would set them
RELABELLED: dict[str, dict[str, tuple[str, str]]] = {
    "states": {"dispatched": ("待签收（新）", "Awaiting sign-for (new)")},
    "actions": {
        "sign": ("签收（新）", "Sign for (new)"),
        "dispatch": ("派遣（新）", "Dispatch (new)"),
    },
}

for _kind, _labels in RELABELLED.items():
    vocabulary.KINDS[_kind][1].update(_labels)

from wsgi import app  # noqa: E402  (made after the change, like a server started on it)

__all__ = ["RELABELLED", "app"]
