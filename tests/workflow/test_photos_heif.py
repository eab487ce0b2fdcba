"""HEIF photos (iPhones shoot .heic by default): opened on the server through pillow-heif, then
the same pixel-only JPEG re-encode and pixel cap as every other format (issue 14, item 12).

The samples are real HEIF files, written in the test by pillow-heif's encoder."""

from __future__ import annotations

import io

import pillow_heif
import pytest
from PIL import Image
from sqlalchemy import select

from server.models import Attachment
from server.usecases.errors import Unprocessable
from server.usecases.photos import process_image
from tests.workflow.test_photos_api import _client, _upload
from tests.workflow.world import World


def heic(size: tuple[int, int] = (400, 300), orientation: int = 1) -> bytes:
    """A HEIF as a phone writes it: EXIF with capture time, GPS, maker and orientation."""
    img = Image.linear_gradient("L").resize(size).convert("RGB")
    img.paste((200, 30, 30), (0, 0, size[0] // 4, size[1] // 4))  # a red corner: which way up
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x0132] = "2025:10:01 09:30:00"  # DateTime
    exif[0x010F] = "Apple"  # Make: must not survive
    exif.get_ifd(0x8825).update({1: "N", 2: (38.0, 3.0, 0.0), 3: "E", 4: (106.0, 18.0, 0.0)})
    buf = io.BytesIO()
    # pillow-heif's own writer: registering it as a Pillow plugin here would hide a server that
    # does not register it
    pillow_heif.from_pillow(img).save(buf, quality=80, exif=exif.tobytes())
    data = buf.getvalue()
    assert data[4:12] == b"ftypheic", data[:16]
    return data


def test_an_iphone_heic_upload_is_stored_as_an_upright_pixel_only_jpeg(world: World) -> None:
    c = _client(world, "wg1")
    key, last = _upload(c, heic((400, 300), orientation=6))  # portrait, stored sideways
    assert last["_status"] == 200 and last["status"] == "ready", last
    stored = c.get(f"/api/v1/photos/{key}")
    assert stored.status_code == 200 and stored.mimetype == "image/jpeg"
    out = Image.open(io.BytesIO(stored.data))
    assert out.format == "JPEG" and out.size == (300, 400)  # turned upright, once
    assert dict(out.getexif()) == {} and "exif" not in out.info
    assert c.get(f"/api/v1/photos/{key}/thumb").status_code == 200
    with world.session() as db:
        att = db.scalar(select(Attachment).where(Attachment.uuid == key))
        assert att is not None and att.taken_at is not None
        assert att.gps_lat is not None and abs(att.gps_lat - 38.05) < 1e-6
        assert att.gps_lon is not None and abs(att.gps_lon - 106.3) < 1e-6


def test_a_heic_over_the_pixel_cap_is_refused_before_it_is_decoded() -> None:
    data = heic((400, 300))
    assert process_image(data, 12_000_000).width == 400
    with pytest.raises(Unprocessable) as err:
        process_image(data, 100_000)  # 120 000 pixels
    assert err.value.code == "too_many_pixels"


def test_a_truncated_heic_is_a_bad_image() -> None:
    data = heic((400, 300))
    with pytest.raises(Unprocessable) as err:
        process_image(data[: len(data) // 2], 12_000_000)
    assert err.value.code == "bad_image"
