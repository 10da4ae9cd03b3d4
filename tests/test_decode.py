"""decode_body: BOM, HTTP charset, <meta>, then detection; strict, with WHATWG labels."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.read.decode import META_SCAN_BYTES, codec_for_label, decode_body

# A news paragraph with characters outside GB2312 (燊, and GBK's em dash pair),
# which is what pages that declare gb2312 really contain.
ZH = (
    "国务院新闻办公室今天上午举行新闻发布会，介绍前三季度国民经济运行情况。"
    "发言人表示，经济运行总体平稳，就业形势基本稳定，居民收入继续增长。"
    "另据报道，澳门赌王何鸿燊的传奇经历再次引发关注——专家称其影响深远。"
)
ZH_HANT = "香港立法會今日開會，議員話：「佢哋啲問題未解決嘅。」記者喺現場觀察到，會議延長咗兩個鐘。"


def page(body: str, head: str = "", title: str = "新闻") -> str:
    return f"<html><head>{head}<title>{title}</title></head><body><p>{body}</p></body></html>"


def test_utf8_with_http_charset() -> None:
    """A UTF-8 page with charset=utf-8 in the header decodes as utf-8."""
    html = page("Grüße — 你好 — Привет")
    assert decode_body(html.encode(), "text/html; charset=utf-8") == (html, "utf-8")


def test_meta_gb2312_with_gbk_only_characters_decodes_as_gb18030() -> None:
    """gb2312 in <meta> means gb18030: 燊 and —— must not become mojibake or U+FFFD."""
    html = page(ZH, '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">')
    body = html.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        body.decode("gb2312")  # the page really contains characters GB2312 lacks
    assert decode_body(body, "text/html") == (html, "gb18030")


def test_gbk_with_charset_only_in_http_header() -> None:
    """The header charset is used when the page has no <meta>."""
    html = page(ZH)
    assert decode_body(html.encode("gbk"), 'text/html; charset="GBK"') == (html, "gb18030")


def test_big5_label_decodes_hkscs_characters() -> None:
    """big5 is read as big5hkscs, so Cantonese characters (佢哋啲嘅) survive."""
    html = page(ZH_HANT, '<meta charset="big5">', title="新聞")
    assert decode_body(html.encode("big5hkscs"), None) == (html, "big5hkscs")


@pytest.mark.parametrize(
    ("bom_codec", "codec"),
    [("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("utf-16-be", "utf-16")],
)
def test_bom_wins_over_a_contradicting_header(bom_codec: str, codec: str) -> None:
    """A byte order mark beats the header, and the text excludes the BOM itself."""
    html = page(ZH)
    body = (codecs.BOM_UTF16_BE if bom_codec == "utf-16-be" else b"") + html.encode(bom_codec)
    text, used = decode_body(body, "text/html; charset=gbk")
    assert (text, used) == (html, codec)
    assert body.decode(used) == text


def test_iso_8859_1_label_reads_windows_1252_curly_quotes() -> None:
    """iso-8859-1 means cp1252, so 0x93/0x94 are curly quotes, not C1 controls."""
    body = b"<p>Der Minister sagte: \x93Wir bleiben.\x94 \x96 \x80 5</p>"
    text, codec = decode_body(body, "text/html; charset=ISO-8859-1")
    assert text == "<p>Der Minister sagte: “Wir bleiben.” – € 5</p>"
    assert codec == "cp1252"


def test_no_declaration_detects_gbk() -> None:
    """With no BOM, header or <meta>, a GBK page is detected and decoded exactly."""
    html = page(ZH * 2)
    text, codec = decode_body(html.encode("gbk"), None)
    assert text == html
    assert codec == "gb18030"


def test_no_declaration_utf8_is_not_latin1() -> None:
    """text/html without charset is not ISO-8859-1 (requests' default): UTF-8 stays UTF-8."""
    html = page("Café “quotes” 新闻")
    assert decode_body(html.encode(), "text/html") == (html, "utf-8")


def test_wrong_header_falls_through_to_meta() -> None:
    """A header charset that fails strictly gives way to the page's own <meta>."""
    html = page(ZH, '<meta charset="gbk">')
    assert decode_body(html.encode("gbk"), "text/html; charset=utf-8") == (html, "gb18030")


def test_wrong_header_and_meta_fall_through_to_detection() -> None:
    """When both declarations fail strictly, detection still finds the real charset."""
    html = page(ZH * 2, '<meta charset="utf-8">')
    text, codec = decode_body(html.encode("gbk"), "text/html; charset=utf-8")
    assert text == html
    assert codec == "gb18030"


def test_latin1_header_on_gbk_bytes_falls_through() -> None:
    """cp1252 is strict about 0x81/0x8D/0x8F/0x90/0x9D, which GBK uses as lead bytes."""
    html = page("未來的實驗：亂局之後", '<meta charset="gbk">')
    body = html.encode("gbk")
    assert b"\x81" in body  # undefined in cp1252
    assert b"\x8d" in body  # undefined in cp1252
    assert decode_body(body, "text/html; charset=iso-8859-1") == (html, "gb18030")


@pytest.mark.parametrize("content_type", ["text/html; charset=bogus-9", "text/html; charset="])
def test_unknown_header_label_is_ignored(content_type: str) -> None:
    """An unknown or empty charset label is skipped, not fatal."""
    html = page(ZH, '<meta charset="gbk">')
    assert decode_body(html.encode("gbk"), content_type) == (html, "gb18030")


@pytest.mark.parametrize("label", ["unicode_escape", "raw_unicode_escape", "utf-7", "base64"])
def test_non_charset_codecs_are_refused(label: str) -> None:
    """Python codecs that are not web charsets cannot be selected by a hostile server."""
    body = b"<p>caf\\u00e9 +AGEAYgBj-</p>"
    assert codec_for_label(label) is None
    assert decode_body(body, f"text/html; charset={label}") == (body.decode(), "utf-8")


def test_meta_after_a_long_comment_within_the_scan_window() -> None:
    """A <meta> 3 KB in (after a portal's comments and scripts) is still found."""
    html = "<!-- " + "x" * 3000 + " -->" + page(ZH, '<meta charset="gb2312">')
    assert decode_body(html.encode("gbk"), None) == (html, "gb18030")


def test_meta_beyond_the_scan_window_is_not_trusted() -> None:
    """A charset named deep in the body is not a declaration (it may be article text)."""
    html = "<p>" + "a" * META_SCAN_BYTES + '</p><meta charset="koi8-r"><p>plain ascii</p>'
    assert decode_body(html.encode(), None) == (html, "utf-8")


def test_meta_utf16_on_an_ascii_compatible_page_means_utf8() -> None:
    """A <meta> that could be read as ASCII cannot really be UTF-16 (WHATWG rule)."""
    html = page("新闻", '<meta charset="utf-16">')
    assert decode_body(html.encode(), None) == (html, "utf-8")


def test_xml_declaration_encoding_is_honoured() -> None:
    """An XHTML page's <?xml encoding="gbk"?> counts as an in-document declaration."""
    html = '<?xml version="1.0" encoding="gbk"?>' + page(ZH)
    assert decode_body(html.encode("gbk"), "application/xhtml+xml") == (html, "gb18030")


def test_empty_body() -> None:
    """An empty body (a 304, a HEAD-like reply) decodes to empty text without error."""
    assert decode_body(b"", None) == ("", "utf-8")
    assert decode_body(b"", "text/html; charset=gbk") == ("", "gb18030")


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("gb2312", "gb18030"),
        ("GBK", "gb18030"),
        ("x-gbk", "gb18030"),
        ("GB_2312-80", "gb18030"),
        ("iso-8859-1", "cp1252"),
        ("latin1", "cp1252"),
        ("ascii", "cp1252"),
        ("US-ASCII", "cp1252"),
        ("Shift_JIS", "cp932"),
        ("EUC-KR", "cp949"),
        ("big5", "big5hkscs"),
        ("utf8", "utf-8"),
        ("windows-1250", "cp1250"),
        (" 'UTF-8' ", "utf-8"),
        ("no-such-charset", None),
        ("", None),
    ],
)
def test_labels_map_like_a_browser(label: str, codec: str | None) -> None:
    """Legacy labels resolve to the superset codec browsers actually use."""
    assert codec_for_label(label) == codec


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_round_trips_through_utf8_with_header(text: str) -> None:
    """Any str encoded as UTF-8 and served with charset=utf-8 decodes back identically."""
    # A leading U+FEFF encodes to a UTF-8 BOM, which every decoder (browsers too) strips.
    expected = text.removeprefix("\ufeff")
    assert decode_body(text.encode("utf-8"), "text/html; charset=utf-8")[0] == expected


CJK = st.one_of(
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # unified ideographs
    st.characters(min_codepoint=0x3400, max_codepoint=0x4DBF),  # extension A
    st.characters(min_codepoint=0x20000, max_codepoint=0x2A6DF),  # extension B: 4 bytes
    st.characters(min_codepoint=0x3000, max_codepoint=0x303F),  # CJK punctuation
    st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E),  # full-width forms
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),  # ASCII mixed in
)


@settings(max_examples=200, deadline=None)
@given(st.text(CJK, min_size=1))
def test_cjk_text_round_trips_through_gbk_label(text: str) -> None:
    """Any CJK text encoded as gb18030 and served as charset=gbk decodes back identically."""
    assert decode_body(text.encode("gb18030"), "text/html; charset=gbk") == (text, "gb18030")


@settings(max_examples=100, deadline=None)
@given(
    st.binary(max_size=300),
    st.sampled_from([None, "text/html", "text/html; charset=gbk", "text/html; charset=utf-8"]),
)
def test_never_raises_and_codec_reproduces_text(body: bytes, content_type: str | None) -> None:
    """Arbitrary bytes never raise, and the returned codec reproduces the returned text."""
    text, codec = decode_body(body, content_type)
    assert text == body.decode(codec, errors="replace")
