"""A small compressed image cannot cost much memory or CPU (server/usecases/photos.py): images are
decoded one at a time per process and reduced to the stored size before any copy is made."""

from __future__ import annotations

import io
import subprocess
import sys
import threading

import pytest
from PIL import Image

from server.usecases.errors import Unprocessable
from server.usecases.photos import FULL_EDGE, decoding, process_image
from tests.support import ROOT

MEASURE = """
import io, resource, sys
from PIL import Image
from server.usecases.photos import process_image
side, max_pixels = int(sys.argv[1]), int(sys.argv[2])
buf = io.BytesIO()
Image.new("RGB", (side, side)).save(buf, "PNG")  # black: a ~100 KB file
data = buf.getvalue()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = process_image(data, max_pixels)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(data), out.width, out.height, (after - before) // 1024)
"""


def _grow_mb(side: int, max_pixels: int) -> tuple[int, int, int, int]:
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, str(side), str(max_pixels)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    size, w, h, grow = (int(x) for x in run.stdout.split())
    return size, w, h, grow


def test_a_compressed_bomb_stays_small() -> None:
    # The attacker's 116 KB PNG of 6300x6300 black pixels, under the former 40 Mpx cap
    # (the default is now 12 Mpx and refuses it): measured 302 MB before, 65 MB after.
    size, w, h, grow = _grow_mb(6300, 40_000_000)
    assert size < 200_000 and (w, h) == (FULL_EDGE, FULL_EDGE)
    assert grow < 150, f"decoding took {grow} MB more"


def test_the_default_cap_refuses_the_6300px_bomb() -> None:
    buf = io.BytesIO()
    Image.new("L", (6300, 6300)).save(buf, "PNG")
    with pytest.raises(Unprocessable) as exc:
        process_image(buf.getvalue(), 12_000_000)
    assert exc.value.code == "too_many_pixels"


def test_one_image_is_decoded_at_a_time() -> None:
    entered = threading.Event()

    def second() -> None:
        with decoding(1):
            entered.set()

    with decoding(1):
        t = threading.Thread(target=second)
        t.start()
        assert not entered.wait(0.3)  # the second waits while the first decodes
    assert entered.wait(10)
    t.join(10)


def test_one_users_photos_wait_for_each_other_not_everyone_else() -> None:
    """With two decoders, a user's second photo waits for their first while another user's
    photo is decoded at once: 60 photos of one account at once no longer hold the others'."""
    release = threading.Event()
    entered = {name: threading.Event() for name in ("a1", "a2", "b")}

    def decode(name: str, user: int, hold: bool) -> None:
        with decoding(2, user):
            entered[name].set()
            if hold:
                release.wait(10)

    threads = [threading.Thread(target=decode, args=("a1", 1, True))]
    threads[0].start()
    assert entered["a1"].wait(10)
    threads += [
        threading.Thread(target=decode, args=(n, u, False)) for n, u in (("a2", 1), ("b", 2))
    ]
    for t in threads[1:]:
        t.start()
    assert entered["b"].wait(10)  # the other user's photo: at once
    assert not entered["a2"].wait(0.3)  # the same user's second: after their first
    release.set()
    assert entered["a2"].wait(10)
    for t in threads:
        t.join(10)
    from server.usecases import photos

    assert photos._turns == {}  # nothing kept per user once their photos are done


def test_photos_keep_orientation_and_modes() -> None:
    for mode in ("RGB", "RGBA", "L", "P", "1", "LA", "I;16", "CMYK"):
        buf = io.BytesIO()
        fmt = "JPEG" if mode == "CMYK" else "PNG"
        Image.new(mode, (3000, 1000)).save(buf, fmt)
        out = process_image(buf.getvalue(), 12_000_000)
        assert out.width == FULL_EDGE and abs(out.height - FULL_EDGE / 3) <= 1, mode


UNDER_GEVENT = """
from gevent import monkey
monkey.patch_all()
import io, os, sys
import gevent
from PIL import Image
from server.usecases.photos import off_the_loop, process_image
buf = io.BytesIO()
Image.frombytes("RGB", (3000, 3000), os.urandom(3000 * 3000 * 3)).save(buf, "PNG")
data = buf.getvalue()
ticks, running = [0], [True]
def tick():
    while running[0]:
        ticks[0] += 1
        gevent.sleep(0.002)
ticker = gevent.spawn(tick)
gevent.sleep(0.01)
mode = sys.argv[1]
before = ticks[0]
if mode == "pool":
    off_the_loop(process_image, data, 12_000_000)
else:
    process_image(data, 12_000_000)
during = ticks[0] - before
running[0] = False
ticker.join()
print(during)
"""


@pytest.mark.parametrize("mode", ["pool", "loop"])
def test_under_gevent_a_photo_is_decoded_off_the_loop(mode: str) -> None:
    """gunicorn's gevent worker runs every request of a process on one loop: a 9 Mpx photo
    decoded on it stopped every other request (the ticker greenlet ran 0 times while it was
    decoded). ``off_the_loop`` decodes in gevent's thread pool, and the loop goes on."""
    run = subprocess.run(
        [sys.executable, "-c", UNDER_GEVENT, mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    during = int(run.stdout.split()[-1])
    if mode == "loop":
        assert during == 0  # the control: decoding on the loop blocks it
    else:
        assert during > 0
