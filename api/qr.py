"""QR codes of the public pages, made with segno and cached: one rendering per URL and format."""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from functools import lru_cache

import segno


@dataclass(frozen=True)
class RenderedQr:
    """The bytes of one QR image, its media type and its ETag."""

    body: bytes
    mimetype: str
    etag: str


@lru_cache(maxsize=4096)
def qr_image(url: str, kind: str) -> RenderedQr:
    """The QR code of ``url`` as ``svg`` or ``png`` (error correction M, a 4-module quiet zone)."""
    code = segno.make(url, error="m", micro=False)
    buffer = io.BytesIO()
    if kind == "svg":
        code.save(buffer, kind="svg", scale=8, border=4, xmldecl=True, title=url, light="#fff")
        mimetype = "image/svg+xml"
    elif kind == "png":
        code.save(buffer, kind="png", scale=10, border=4, light="#fff")
        mimetype = "image/png"
    else:
        raise ValueError(f"unknown QR image kind {kind!r}")
    body = buffer.getvalue()
    return RenderedQr(body, mimetype, hashlib.sha256(body).hexdigest()[:32])


@lru_cache(maxsize=4096)
def qr_inline_svg(url: str) -> str:
    """The QR code of ``url`` as an ``<svg>`` element sized by CSS (for label sheets)."""
    code = segno.make(url, error="m", micro=False)
    buffer = io.BytesIO()
    code.save(buffer, kind="svg", scale=1, border=2, xmldecl=False, svgns=True, omitsize=True,
              svgclass="qr", lineclass=None)
    return buffer.getvalue().decode()
