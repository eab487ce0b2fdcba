"""The web app's generated TypeScript (the OpenAPI types, the vocabulary) is current: a change
of an answer model or of the domain's vocabulary without ``npm run gen:api`` fails here."""

from __future__ import annotations

import pytest

from server.api import codegen


def test_vocabulary_ts_is_current() -> None:
    assert codegen.VOCABULARY_TS.read_text(encoding="utf-8") == codegen.vocabulary_ts(), (
        "webapp/src/shared/vocabulary.ts is stale: run `npm run gen:api` in webapp/"
    )


def test_api_schema_ts_is_current() -> None:
    if not (codegen.WEBAPP / "node_modules" / ".bin" / "openapi-typescript").exists():
        pytest.skip("webapp/node_modules not installed (make test installs it first)")
    assert codegen.SCHEMA_TS.read_text(encoding="utf-8") == codegen.schema_ts(), (
        "webapp/src/shared/api-schema.ts is stale: run `npm run gen:api` in webapp/"
    )
