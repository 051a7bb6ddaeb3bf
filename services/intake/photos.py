"""Photos: JPEG or PNG only, at most 10 MB each and 5 per report, re-encoded without metadata.

Re-encoding from pixels drops EXIF (GPS, camera serial numbers, times) and anything else the
file carried; the orientation is applied first so the photo still looks right.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from services.runtime.errors import RefusedError

MAX_BYTES = 10 * 1024 * 1024
MAX_PHOTOS = 5
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
Image.MAX_IMAGE_PIXELS = 60_000_000  # refuse decompression bombs


class PhotoError(RefusedError, ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class CleanPhoto:
    content_type: str
    data: bytes


def clean_photo(raw: bytes) -> CleanPhoto:
    if len(raw) > MAX_BYTES:
        raise PhotoError("photo_size", "photo larger than 10 MB")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            kind = image.format or ""
            if kind not in FORMATS:
                raise PhotoError("photo_type", f"{kind or 'unknown'} is not JPEG or PNG")
            image.load()
            upright = ImageOps.exif_transpose(image)
            pixels = Image.frombytes(upright.mode, upright.size, upright.tobytes())
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise PhotoError("photo_type", f"not a readable JPEG or PNG ({error})") from error
    out = io.BytesIO()
    if kind == "JPEG":
        pixels.convert("RGB").save(out, format="JPEG", quality=88)
    else:
        pixels.save(out, format="PNG", optimize=False)
    return CleanPhoto(FORMATS[kind], out.getvalue())


def clean_photos(raws: list[bytes]) -> list[CleanPhoto]:
    if len(raws) > MAX_PHOTOS:
        raise PhotoError("photo_count", "more than 5 photos")
    return [clean_photo(raw) for raw in raws]
