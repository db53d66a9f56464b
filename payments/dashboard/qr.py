"""QR codes inline in pages (SVG markup, so no extra request and no image stack)."""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe

from ops.qr import qr_svg


def qr_svg_inline(text: str) -> SafeString:
    svg = qr_svg(text).decode()
    if svg.startswith("<?xml"):
        svg = svg[svg.index("?>") + 2:]
    # the SVG comes from the qrcode library (paths only); the text is encoded as modules, never echoed
    return mark_safe(svg.replace("<svg ", '<svg role="img" aria-label="QR code" ', 1))  # noqa: S308
