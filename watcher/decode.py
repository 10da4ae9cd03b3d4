"""Turn response bytes into text with the right codec (pure).

Order: BOM, HTTP charset, ``<meta>`` charset, then detection. Legacy labels are
mapped WHATWG-style (gb2312/gbk -> gb18030) so Chinese pages never come out as mojibake.
"""

from __future__ import annotations


def decode_body(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Return ``(text, codec)`` for ``body`` served with ``content_type``."""
    raise NotImplementedError
