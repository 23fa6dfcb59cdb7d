"""The customer's drawn signature as an image: what `sign_order` accepts (a PNG, given as bytes
or as the data URL a canvas's `toDataURL()` gives), checked before it is stored and before the
protocol's PDF renderer ever decodes it."""

from __future__ import annotations

import base64
import binascii
import io
import zlib

from flask_babel import gettext as _
from PIL import Image

from app.errors import ValidationFailed

SIGNATURE_MAX_BYTES = 512 * 1024
# A signature pad is a few hundred pixels each way; more is no signature but a way to make
# the PDF renderer decode a huge image (PNG compresses one colour almost to nothing).
SIGNATURE_MAX_PIXELS = 4_000_000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def decode_signature(value: bytes | str) -> bytes:
    """The PNG bytes of a drawn signature given as PNG bytes or as a data URL
    (`data:image/png;base64,…`, what a canvas's `toDataURL()` gives).

    Raises ValidationFailed naming `signature` when it is not a PNG image (another type, not
    base64, not decodable), is empty or blank (nothing drawn: fully transparent or white), or
    is larger than 512 KB decoded."""
    data = _signature_bytes(value) if isinstance(value, str) else bytes(value)
    if not data:
        raise _bad_signature(_("Signaturen är tom. Låt kunden skriva sin namnteckning."))
    if len(data) > SIGNATURE_MAX_BYTES:
        raise _too_large_signature(len(data))
    if not data.startswith(PNG_MAGIC):
        raise _bad_signature(_("Signaturen är ingen PNG-bild."))
    if not _png_chunks_intact(data):
        raise _bad_signature(_("Signaturen är ingen giltig PNG-bild."))
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            width, height = image.size
            if width * height > SIGNATURE_MAX_PIXELS:
                raise _bad_signature(
                    _(
                        "Signaturen är för stor (%(width)s × %(height)s bildpunkter).",
                        width=width,
                        height=height,
                    )
                )
            image.load()  # decodes it all: a truncated or corrupt file fails here
            blank = _is_blank(image)
    except ValidationFailed:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _bad_signature(_("Signaturen är ingen giltig PNG-bild.")) from None
    if blank:
        raise _bad_signature(_("Signaturen är tom. Låt kunden skriva sin namnteckning."))
    return data


def _signature_bytes(value: str) -> bytes:
    value = value.strip()
    if not value:
        return b""
    header, comma, payload = value.partition(",")
    params = [p.strip().lower() for p in header.removeprefix("data:").split(";")]
    if not header.startswith("data:") or not comma:
        raise _bad_signature(_("Skicka signaturen som en data-URL: data:image/png;base64,…"))
    if params[0] != "image/png" or "base64" not in params[1:]:
        raise _bad_signature(_("Signaturen måste vara en PNG-bild (data:image/png;base64,…)."))
    payload = "".join(payload.split())
    if len(payload) > (SIGNATURE_MAX_BYTES + 2) // 3 * 4:  # don't decode what is too large
        raise _too_large_signature(len(payload) // 4 * 3)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise _bad_signature(_("Signaturen är inte giltig base64.")) from None


def _png_chunks_intact(data: bytes) -> bool:
    """Every chunk whole with a correct CRC, through IEND at the very end.

    Checked here rather than left to Pillow: WeasyPrint switches Pillow's
    LOAD_TRUNCATED_IMAGES on for the whole process, and a cut-off upload then decodes
    without complaint."""
    position = len(PNG_MAGIC)
    while position + 12 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        end = position + 12 + length
        if end > len(data):
            return False
        kind = data[position + 4 : position + 8]
        crc = int.from_bytes(data[end - 4 : end], "big")
        if zlib.crc32(data[position + 4 : end - 4]) != crc:
            return False
        if kind == b"IEND":
            return end == len(data)
        position = end
    return False


def _is_blank(image: Image.Image) -> bool:
    """Nothing drawn: every pixel fully transparent, or (near) white once laid on white."""
    rgba = image.convert("RGBA")
    if rgba.getchannel("A").getbbox() is None:
        return True
    on_white = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    ink = on_white.convert("L").point(lambda value: 255 if value < 250 else 0)
    return ink.getbbox() is None


def _bad_signature(problem: str) -> ValidationFailed:
    return ValidationFailed.field("signature", problem)


def _too_large_signature(size: int) -> ValidationFailed:
    return _bad_signature(
        _("Signaturen är för stor (%(size)s kB); högst 512 kB.", size=(size + 1023) // 1024)
    )
