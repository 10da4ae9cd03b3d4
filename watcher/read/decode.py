"""Turn response bytes into text with the right codec (pure).

Order: BOM, HTTP charset, ``<meta>`` charset, then detection. Legacy labels are
mapped WHATWG-style (gb2312/gbk -> gb18030) so Chinese pages never come out as mojibake.
Every candidate is tried strictly; only the very last resort replaces undecodable bytes.
"""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Iterator

from charset_normalizer import from_bytes

logger = logging.getLogger(__name__)

# How far into the body a <meta> charset is looked for. WHATWG prescans 1024 bytes,
# but Chinese portals often put long comments and scripts before their <meta>.
META_SCAN_BYTES = 4096

# WHATWG decodes these labels with a superset of what they name, and so do browsers:
# a "gb2312" page routinely contains GBK-only characters (何鸿燊, em dashes),
# an "iso-8859-1" page contains cp1252 curly quotes. Keys are normalised by _normalize_label.
_SUPERSETS: dict[str, tuple[str, ...]] = {
    "gb18030": (
        "gb2312",
        "gbk",
        "x-gbk",
        "gb-2312",
        "gb-2312-80",
        "chinese",
        "csgb2312",
        "csiso58gb231280",
        "iso-ir-58",
        "gb18030",
    ),
    "cp1252": (
        "iso-8859-1",
        "iso8859-1",
        "iso88591",
        "iso-8859-1:1987",
        "iso-ir-100",
        "latin1",
        "latin-1",
        "l1",
        "cp819",
        "ibm819",
        "csisolatin1",
        "ascii",
        "us-ascii",
        "ansi-x3.4-1968",
        "windows-1252",
        "x-cp1252",
        "cp1252",
    ),
    "cp1254": ("iso-8859-9", "iso8859-9", "latin5", "l5", "iso-ir-148", "windows-1254"),
    "cp874": ("tis-620", "iso-8859-11", "iso8859-11", "windows-874", "dos-874"),
    "cp932": (
        "shift-jis",
        "sjis",
        "x-sjis",
        "ms-kanji",
        "ms932",
        "csshiftjis",
        "windows-31j",
    ),
    "cp949": (
        "euc-kr",
        "cseuckr",
        "csksc56011987",
        "iso-ir-149",
        "korean",
        "ks-c-5601-1987",
        "ks-c-5601-1989",
        "ksc5601",
        "ksc-5601",
        "windows-949",
    ),
    "big5hkscs": ("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5", "cp950"),
}
_LABEL_TO_CODEC = {label: codec for codec, labels in _SUPERSETS.items() for label in labels}

# Python codecs that are not character sets a web page can be in; a hostile
# ``charset=unicode_escape`` must not turn backslash sequences into characters.
_NOT_CHARSETS = frozenset(
    {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined", "utf-7"}
)

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?\s*([^\s"';,]+)""", re.IGNORECASE)
# Matches both <meta charset="x"> and <meta http-equiv=... content="text/html; charset=x">.
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:\-]+)""")


def decode_body(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Return ``(text, codec)`` for ``body`` served with ``content_type``.

    ``text == body.decode(codec)`` except when nothing decoded strictly: then the
    body is utf-8 with replacement characters, because losing a byte beats losing the page.
    """
    tried: set[str] = set()
    for source, codec in _candidates(body, content_type):
        if codec in tried:
            continue
        tried.add(codec)
        try:
            text = body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            logger.debug("charset %s from %s does not decode the body", codec, source)
            continue
        return text, codec
    logger.debug("no charset decodes the body strictly; using utf-8 with replacement")
    return body.decode("utf-8", errors="replace"), "utf-8"


def codec_for_label(label: str) -> str | None:
    """Map a charset label to the Python codec a browser would use, or None if unknown."""
    key = _normalize_label(label)
    if not key:
        return None
    codec = _LABEL_TO_CODEC.get(key, key)
    try:
        info = codecs.lookup(codec)
    except LookupError:
        return None
    # _is_text_encoding is False for bytes-to-bytes codecs such as base64 and zlib.
    if info.name in _NOT_CHARSETS or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def _candidates(body: bytes, content_type: str | None) -> Iterator[tuple[str, str]]:
    """Yield ``(source, codec)`` pairs in the order they should be trusted."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            yield "bom", codec
            break
    header_label = _header_charset(content_type)
    header_codec = codec_for_label(header_label) if header_label is not None else None
    if header_codec is not None:
        yield "http header", header_codec
    for label in _meta_charsets(body[:META_SCAN_BYTES]):
        meta_codec = codec_for_label(label)
        if meta_codec is not None:
            # A page whose <meta> could be read as ASCII cannot really be UTF-16 (WHATWG).
            yield "meta", "utf-8" if meta_codec.startswith("utf-16") else meta_codec
    # Valid multi-byte UTF-8 is almost never an accident, and this is far cheaper
    # than statistical detection for the undeclared pages that are mostly UTF-8.
    yield "utf-8 check", "utf-8"
    yield from _detected(body)


def _detected(body: bytes) -> Iterator[tuple[str, str]]:
    for match in from_bytes(body):
        detected = codec_for_label(match.encoding)
        if detected is not None:
            yield "detection", detected


def _header_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, if any.

    No charset means no charset: the ISO-8859-1 default that requests applies to
    text/* is deliberately not assumed here.
    """
    if not content_type:
        return None
    match = _CHARSET_PARAM.search(content_type)
    return match.group(1) if match else None


def _meta_charsets(head: bytes) -> Iterator[str]:
    for match in _META_CHARSET.finditer(head):
        yield match.group(1).decode("ascii")
    xml = _XML_ENCODING.match(head)
    if xml:
        yield xml.group(1).decode("ascii")


def _normalize_label(label: str) -> str:
    return label.strip().strip("\"'").lower().replace("_", "-")
