"""Signature images for tests: a drawn one, blank ones, a too large one, as PNG bytes or as
the data URL a canvas gives."""

from __future__ import annotations

import base64
import io
import random

from PIL import Image, ImageDraw


def drawn_png(size: tuple[int, int] = (800, 400)) -> bytes:
    """A transparent PNG with a dark scribble, like the signing pad exports."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    w, h = size
    points = [(0.1, 0.75), (0.25, 0.3), (0.33, 0.7), (0.48, 0.25), (0.6, 0.72), (0.88, 0.4)]
    ImageDraw.Draw(image).line(
        [(x * w, y * h) for x, y in points], fill=(17, 17, 17, 255), width=max(2, w // 120)
    )
    return _png(image)


def blank_png(color: tuple[int, int, int, int] = (0, 0, 0, 0)) -> bytes:
    """Nothing drawn: fully transparent by default, or one solid colour (white)."""
    return _png(Image.new("RGBA", (800, 400), color))


def noise_png(min_bytes: int) -> bytes:
    """A PNG of random pixels, at least `min_bytes` long (noise doesn't compress)."""
    side = 64
    while True:
        rng = random.Random(side)
        image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        data = _png(image)
        if len(data) >= min_bytes:
            return data
        side *= 2


def data_url(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
