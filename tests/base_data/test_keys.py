"""The data key: read from the environment, checked at start-up; ciphertext bound to its key
and its column."""

from __future__ import annotations

import base64
import logging
import secrets
from pathlib import Path

import pytest

from server.config import ConfigError, Settings
from server.usecases import personal_data as pd


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"WANGGE_INSTANCE_DIR": str(tmp_path), "WANGGE_SECRET_KEY": "x" * 32, **extra}


def test_the_key_comes_from_the_environment(tmp_path: Path) -> None:
    hexkey = secrets.token_hex(32)
    assert Settings.from_env(_env(tmp_path, WANGGE_DATA_KEY=hexkey)).data_key == hexkey
    b64 = base64.b64encode(bytes.fromhex(hexkey)).decode()
    assert pd.parse_key(b64) == bytes.fromhex(hexkey)
    assert Settings.from_env(_env(tmp_path)).data_key == ""  # the development key


@pytest.mark.parametrize("bad", ["abc", "00" * 31, "zz" * 32, base64.b64encode(b"x" * 16).decode()])
def test_a_bad_key_stops_the_start(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env(_env(tmp_path, WANGGE_DATA_KEY=bad))
    assert "WANGGE_DATA_KEY" in str(err.value)


def test_production_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env(_env(tmp_path, WANGGE_REQUIRE_DATA_KEY="1"))
    assert "WANGGE_DATA_KEY" in str(err.value)


def test_ciphertext_is_bound_to_its_key_and_column() -> None:
    key, other = pd.data_key(secrets.token_hex(32)), pd.data_key(secrets.token_hex(32))
    blob = pd.encrypt(key, "residents.id_number", "640181195003041015")
    assert b"640181" not in blob
    assert pd.decrypt(key, "residents.id_number", blob) == "640181195003041015"
    assert pd.encrypt(key, "residents.id_number", "640181195003041015") != blob  # fresh nonce
    with pytest.raises(ValueError):
        pd.decrypt(other, "residents.id_number", blob)
    with pytest.raises(ValueError):
        pd.decrypt(key, "residents.phone", blob)
    assert pd.digest(key, "id", "x") != pd.digest(other, "id", "x")
    assert pd.digest(key, "id", "x") != pd.digest(key, "phone", "x")
    assert pd.data_key("").dev and not key.dev


def test_start_up_without_a_key_warns(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from server.app import create_app
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, sqlite_url)
    with caplog.at_level(logging.WARNING, logger="wangge"):
        create_app(settings).extensions["wangge.engine"].dispose()
    warned = [r.getMessage() for r in caplog.records if r.name == "wangge"]
    assert any("WANGGE_DATA_KEY is not set" in m and "NOT protected" in m for m in warned)
    caplog.clear()
    settings = make_settings(tmp_path, sqlite_url)
    settings.data_key = secrets.token_hex(32)
    with caplog.at_level(logging.WARNING, logger="wangge"):
        create_app(settings).extensions["wangge.engine"].dispose()
    assert not [r for r in caplog.records if "WANGGE_DATA_KEY" in r.getMessage()]
