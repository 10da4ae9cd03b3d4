"""Raw bodies packed for storage: whole (a keyframe) or as a delta against a keyframe.

A changed version of a page differs from the one before it by a word and some noise, so it
is stored as zstd with the page's keyframe (a whole earlier body) as a raw-content
dictionary: a one-word edit of a 130 KB page costs tens of bytes instead of 25 KB. A delta
always points at a whole body, never at another delta, so a read decompresses at most two
blobs. Unpacking never trusts what it produced: the caller checks the SHA-256 the body is
stored under. No database access here.
"""

from __future__ import annotations

from dataclasses import dataclass

import zstandard

FULL = "zstd"  # the body, zstd-compressed on its own
DELTA = "zstd-delta"  # zstd with the keyframe's body as a raw-content dictionary
CODECS = (FULL, DELTA)
KEYFRAME_EVERY = 32  # at most this many versions share one keyframe (its loss loses them)
# a delta larger than this share of the keyframe's packed size buys too little: the page
# was rewritten, and the new body becomes the next keyframe
_DELTA_SHARE = 0.5
_LEVEL = 3


@dataclass(frozen=True, slots=True)
class Packed:
    """A body as stored: its codec, the packed bytes and the keyframe a delta needs."""

    codec: str
    data: bytes
    base_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Keyframe:
    """A whole stored body a new version may be packed against."""

    sha256: str
    body: bytes
    packed_size: int  # length of its stored (compressed) bytes
    deltas: int  # how many stored bodies are already packed against it


def pack_body(body: bytes, keyframe: Keyframe | None = None) -> Packed:
    """Pack ``body`` as a delta against ``keyframe`` when that pays, else whole."""
    if keyframe is None or keyframe.deltas >= KEYFRAME_EVERY - 1:
        return Packed(FULL, zstandard.ZstdCompressor(level=_LEVEL).compress(body))
    delta = zstandard.ZstdCompressor(level=_LEVEL, dict_data=_dictionary(keyframe.body)).compress(
        body
    )
    if len(delta) > keyframe.packed_size * _DELTA_SHARE:
        return Packed(FULL, zstandard.ZstdCompressor(level=_LEVEL).compress(body))
    return Packed(DELTA, delta, keyframe.sha256)


def unpack_body(codec: str, data: bytes, size: int, base: bytes | None = None) -> bytes:
    """The body packed in ``data`` (``size`` bytes long); ``base`` is a delta's keyframe body.

    Raises ``zstandard.ZstdError`` on damaged data and ``ValueError`` on a codec or keyframe
    that does not fit.
    """
    if codec == FULL:
        return zstandard.ZstdDecompressor().decompress(data, max_output_size=size)
    if codec == DELTA:
        if base is None:
            raise ValueError("a delta without its keyframe")
        decompressor = zstandard.ZstdDecompressor(dict_data=_dictionary(base))
        return decompressor.decompress(data, max_output_size=size)
    raise ValueError(f"unknown codec {codec!r}")


def _dictionary(body: bytes) -> zstandard.ZstdCompressionDict:
    return zstandard.ZstdCompressionDict(body, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
