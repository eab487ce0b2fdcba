"""The data key: read from the environment, checked at start-up; ciphertext bound to its key
and its column."""

from __future__ import annotations

import base64
import logging
import secrets
from pathlib import Path
from typing import Any

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


def test_rotating_the_data_key_re_encrypts_everything(
    any_bw: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``flask data-key rotate``: every identity number and phone (residents', organisations'
    contacts) is re-encrypted and re-hashed under the new key, all or nothing; search and reveal
    work with the new key; a wrong old key changes nothing."""
    import dataclasses

    from sqlalchemy import select

    from server.models import Organisation, Resident
    from tests import factories as f

    w, base = any_bw
    app = w.app
    dev, new_text = pd.data_key(""), secrets.token_hex(32)
    new = pd.data_key(new_text)
    rid, number, phone = base.residents["G1"], base.id_numbers["G1"], base.phones["G1"]
    with w.session() as db:
        before = db.get(Resident, rid)
        assert before is not None and pd.decrypt(dev, "residents.id_number", before.id_cipher)
        masks = (before.id_mask, before.phone_mask)
        people = len(list(db.scalars(select(Resident.id))))
    runner = app.test_cli_runner()
    monkeypatch.delenv("WANGGE_OLD_DATA_KEY", raising=False)
    # the app still on the development key: refused, nothing to rotate to
    refused = runner.invoke(args=["data-key", "rotate", "--old-is-development"])
    assert refused.exit_code != 0 and "WANGGE_DATA_KEY is not set" in refused.output
    settings = app.extensions["wangge.settings"]
    app.extensions["wangge.settings"] = dataclasses.replace(settings, data_key=new_text)
    no_old = runner.invoke(args=["data-key", "rotate"])
    assert no_old.exit_code != 0 and "WANGGE_OLD_DATA_KEY" in no_old.output
    # a wrong old key: nothing changed
    monkeypatch.setenv("WANGGE_OLD_DATA_KEY", secrets.token_hex(32))
    wrong = runner.invoke(args=["data-key", "rotate"])
    assert wrong.exit_code != 0 and "nothing changed" in wrong.output, wrong.output
    with w.session() as db:
        row = db.get(Resident, rid)
        assert row is not None
        assert pd.decrypt(dev, "residents.id_number", row.id_cipher) == number
    # the dry run checks, changes nothing; then the rotation
    monkeypatch.delenv("WANGGE_OLD_DATA_KEY")
    dry = runner.invoke(args=["data-key", "rotate", "--old-is-development", "--dry-run"])
    assert dry.exit_code == 0 and "would re-encrypt" in dry.output, dry.output
    done = runner.invoke(args=["data-key", "rotate", "--old-is-development"])
    assert done.exit_code == 0, done.output
    assert f"residents {people} rows" in done.output, done.output
    with w.session() as db:
        row = db.get(Resident, rid)
        assert row is not None
        assert pd.decrypt(new, "residents.id_number", row.id_cipher) == number
        assert pd.decrypt(new, "residents.phone", row.phone_cipher) == phone
        assert row.id_hash == pd.digest(new, "id", number)
        assert row.phone_hash == pd.digest(new, "phone", phone)
        assert (row.id_mask, row.phone_mask) == masks
        with pytest.raises(ValueError):
            pd.decrypt(dev, "residents.id_number", row.id_cipher)
        org = db.get(Organisation, base.organisations["G1"])
        assert org is not None and org.contact_phone_cipher is not None
        assert pd.decrypt(new, "organisations.contact_phone", org.contact_phone_cipher)
        assert org.contact_phone_hash == pd.digest(
            new, "phone", pd.decrypt(new, "organisations.contact_phone", org.contact_phone_cipher)
        )
    # the app with the new key finds and reveals as before
    c = app.test_client()
    f.login(c, "wg1")
    found = c.get("/api/v1/base/residents", query_string={"id_number": number}).get_json()
    assert [r["id"] for r in found["items"]] == [rid]
    shown = c.post(
        f"/api/v1/base/residents/{rid}/reveal",
        json={"reason": "核实身份", "fields": ["id_number", "phone"]},
    ).get_json()
    assert (shown["id_number"], shown["phone"]) == (number, phone)
    # once more from the old key: it no longer opens anything
    again = runner.invoke(args=["data-key", "rotate", "--old-is-development"])
    assert again.exit_code != 0 and "nothing changed" in again.output
