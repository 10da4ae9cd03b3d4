"""watcher serve over HTTP: views, escaping, the archived body's sandbox, feeds, JSON, access."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import feedparser
import jsonschema
import pytest
import requests

from tests.conftest import shared_readers
from tests.evidence_support import URL, Version, five_versions, page_html, store_versions
from tests.factories import T0, make_article
from tests.viewer_support import running
from watcher.cli import EXIT_USAGE, main
from watcher.config import Watch, Watchlist
from watcher.errors import ConfigError
from watcher.evidence.versions import PARTS
from watcher.serve.access import check_bind, is_loopback, load_token
from watcher.serve.app import ARCHIVE_CSP, VIEWER_CSP, create_app
from watcher.store.store import Store

OTHER = "https://other.example/story"
TOKEN = "s3cret-token-0123456789"


@dataclass
class Site:
    """A running viewer over a store with two pages: five versions, and two CJK versions."""

    base: str
    ids: list[int]
    cjk_ids: list[int]
    page_id: int
    cjk_page_id: int


def watchlist() -> Watchlist:
    return Watchlist(
        watch=[
            Watch(
                url=URL, name="Bridge story", tags=["bridge", "politics"], ignore=[r"Visits: \d+"]
            ),
            Watch(url=OTHER, name="化工厂", tags=["china"]),
        ]
    )


def cjk_versions() -> list[Version]:
    one = "事故造成十二人死亡、三十人受伤。"
    two = "事故造成十三人死亡、三十人受伤。"
    title = "化工厂爆炸事故"
    return [
        Version(page_html(title, one), make_article(one, title=title)),
        Version(page_html(title, two), make_article(two, title=title)),
    ]


@pytest.fixture
def site(db: Store) -> Iterator[Site]:
    ids = store_versions(db, five_versions())
    cjk_ids = store_versions(db, cjk_versions(), url=OTHER, name="化工厂")
    pages = {p.url: p.id for p in db.all_pages()}
    with running(create_app(db, watchlist(), reader=shared_readers())) as base:
        yield Site(base, ids, cjk_ids, pages[URL] or 0, pages[OTHER] or 0)


def get(url: str, **kwargs: object) -> requests.Response:
    response = requests.get(url, timeout=30, **kwargs)  # type: ignore[arg-type]
    return response


def test_pages_list_shows_state_last_change_and_tags(site: Site) -> None:
    """The list names each page, its state, its newest change and its tags, under a CSP."""
    response = get(site.base + "/")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == VIEWER_CSP
    html = response.text
    assert "Bridge story" in html
    assert "化工厂" in html
    assert html.index("化工厂") < html.index("Bridge story"), "newest change first"
    assert 'href="/changes/' in html
    assert ">bridge</a>" in html


def test_pages_list_filters_by_tag_kind_and_date(site: Site, db: Store) -> None:
    """tag, kind and since narrow the list; the JSON API mirrors the same filters."""
    api = site.base + "/api/pages"
    assert [p["url"] for p in get(api, params={"tag": "china"}).json()["pages"]] == [OTHER]
    assert [p["url"] for p in get(api, params={"kind": "removed"}).json()["pages"]] == [URL]
    assert get(api, params={"since": "2026-12-01"}).json()["total"] == 0
    assert get(api, params={"since": "2026-11-29"}).json()["total"] == 2
    html = get(site.base + "/", params={"tag": "china"}).text
    assert "化工厂" in html
    assert "Bridge story" not in html


def test_pages_list_is_paginated(db: Store) -> None:
    """120 pages come 50 at a time, with next and previous links and the total."""
    db.sync_pages([(f"https://many.example/{i}", f"page {i}") for i in range(120)], T0)
    with running(create_app(db, Watchlist(), reader=shared_readers())) as base:
        first = get(base + "/api/pages").json()
        third = get(base + "/api/pages", params={"page": 3}).json()
        html = get(base + "/", params={"page": 2}).text
    assert (first["total"], len(first["pages"]), len(third["pages"])) == (120, 50, 20)
    assert {p["url"] for p in first["pages"]}.isdisjoint({p["url"] for p in third["pages"]})
    assert 'rel="prev" href="/?page=1"' in html
    assert 'rel="next" href="/?page=3"' in html


def test_timeline_shows_every_version_with_its_evidence(site: Site, db: Store) -> None:
    """Each version: status, final URL, hops, headers, SHA-256, record hash and reader."""
    html = get(f"{site.base}/pages/{site.page_id}").text
    for version_id in site.ids:
        version = db.get_snapshot(version_id)
        assert version is not None
        assert f'id="v{version_id}"' in html
        assert version.body_sha256[:12] in html
        assert version.record_sha256[:12] in html
        assert version.reader in html
    assert "301 https://news.example/2026/bridge → https://news.example/" in html
    assert "<dt>etag</dt><dd>&#34;v5&#34;</dd>" in html
    assert "removed" in html


def test_a_long_history_is_shown_a_hundred_versions_at_a_time(db: Store) -> None:
    """The newest 100 versions first, then older ones, each with a diff to the one before."""
    texts = [f"Paragraph version {i}." for i in range(130)]
    ids = store_versions(db, [Version(page_html("T", t), make_article(t)) for t in texts])
    with running(create_app(db, Watchlist(), reader=shared_readers())) as base:
        first = get(f"{base}/pages/1").text
        second = get(f"{base}/pages/1", params={"page": 2}).text
    assert first.count('<tr id="v') == 100
    assert second.count('<tr id="v') == 30
    assert f'id="v{ids[-1]}"' in first
    assert f'id="v{ids[0]}"' in second
    assert f"diff?a={ids[29]}&amp;b={ids[30]}" in first, "the oldest shown links to the one before"
    assert 'rel="next" href="/pages/1?page=2"' in first
    with running(create_app(db, Watchlist(), reader=shared_readers())) as base:
        older = get(f"{base}/api/pages/1", params={"page": 2}).json()
    assert older["total_versions"] == 130
    assert [v["id"] for v in older["versions"]] == ids[29::-1]


def test_diff_between_any_two_versions_inline_and_side_by_side(site: Site) -> None:
    """Parts are named, edits are word level, and the watch's ignore rule hides the counter."""
    a, b = site.ids[0], site.ids[2]
    inline = get(f"{site.base}/pages/{site.page_id}/diff", params={"a": a, "b": b}).text
    assert '<section class="part changed" id="headline">' in inline
    assert "Minister <del>resigns</del><ins>quits</ins>" in inline
    assert "<del>denied any wrongdoing</del><ins>admitted some mistakes</ins>" in inline
    assert '<section class="part same" id="byline">' in inline
    assert "Visits" not in inline
    side = get(
        f"{site.base}/pages/{site.page_id}/diff", params={"a": a, "b": b, "view": "side"}
    ).text
    rows = re.findall(r'<tr class="changed"><td>(.*?)</td><td>(.*?)</td></tr>', side, re.S)
    assert rows == [
        ("Minister <del>resigns</del>", "Minister <ins>quits</ins>"),
        (
            "The minister <del>denied any wrongdoing</del>.",
            "The minister <ins>admitted some mistakes</ins>.",
        ),
    ]


def test_cjk_diff_is_character_level(site: Site) -> None:
    """One changed Han character shows as that character, not as the clause."""
    a, b = site.cjk_ids
    html = get(f"{site.base}/pages/{site.cjk_page_id}/diff", params={"a": a, "b": b}).text
    assert "事故造成十<del>二</del><ins>三</ins>人死亡" in html


def test_change_page_and_alert_link_target(site: Site) -> None:
    """/changes/ID shows the diff of that change; a first version redirects to itself."""
    changes = get(f"{site.base}/api/pages/{site.page_id}").json()["changes"]  # newest first
    edit = changes[-2]
    html = get(f"{site.base}/changes/{edit['id']}").text
    assert f"Change {edit['id']}: changed" in html
    first = get(f"{site.base}/changes/{changes[-1]['id']}", allow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"].endswith(f"/versions/{site.ids[0]}")


def test_archived_body_is_served_exactly_and_sandboxed(site: Site) -> None:
    """The raw body is byte for byte, under default-src 'none' and sandbox, in a sandboxed
    frame that sends no referrer."""
    versions = five_versions()
    for version_id, version in zip(site.ids, versions, strict=True):
        raw = get(f"{site.base}/versions/{version_id}/raw")
        assert raw.content == version.body
        assert raw.headers["content-security-policy"] == ARCHIVE_CSP
        assert raw.headers["x-content-type-options"] == "nosniff"
    page = get(f"{site.base}/versions/{site.ids[0]}").text
    frame = re.search(r"<iframe[^>]*>", page)
    assert frame is not None
    assert " sandbox " in frame.group(0)
    assert 'referrerpolicy="no-referrer"' in frame.group(0)
    assert f'src="/versions/{site.ids[0]}/raw"' in frame.group(0)


def test_page_text_is_escaped_everywhere(db: Store) -> None:
    """Markup in headlines, bylines, URLs and headers is shown as text, never as markup."""
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    article = make_article(hostile, title=hostile, byline=hostile)
    evil = Version(
        page_html("x", "y"),
        article,
        headers=(("x-note", hostile),),
        final_url="javascript:alert(3)",
    )
    ids = store_versions(db, [Version(page_html("x", "z"), make_article("z")), evil])
    page_id = db.all_pages()[0].id
    with running(create_app(db, Watchlist(), reader=shared_readers())) as base:
        bodies = [
            get(f"{base}/pages/{page_id}").text,
            get(f"{base}/versions/{ids[1]}").text,
            get(f"{base}/pages/{page_id}/diff", params={"a": ids[0], "b": ids[1]}).text,
            get(f"{base}/feeds/changes.atom").text,
        ]
    for body in bodies:
        assert "<script>" not in body
        assert "<img src=x" not in body
        assert 'href="javascript:' not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in bodies[0] + bodies[1]


def test_atom_feeds_parse_cleanly(site: Site) -> None:
    """All, per tag and per page feeds are valid Atom with diff excerpts and change links."""
    feeds = {
        "all": get(site.base + "/feeds/changes.atom"),
        "tag": get(site.base + "/feeds/tags/bridge.atom"),
        "page": get(f"{site.base}/feeds/pages/{site.cjk_page_id}.atom"),
    }
    parsed = {name: feedparser.parse(r.content) for name, r in feeds.items()}
    for name, feed in parsed.items():
        assert feed.bozo == 0, (name, feed.get("bozo_exception"))
        assert feeds[name].headers["content-type"].startswith("application/atom+xml")
    assert len(parsed["all"].entries) == 5  # changes, removals and restorations; not "new"
    assert len(parsed["tag"].entries) == 4
    [entry] = parsed["page"].entries
    assert re.fullmatch(rf"{site.base}/changes/\d+", entry.link)
    assert "<del>二</del><ins>三</ins>" in entry.content[0].value


# --- the JSON API: schemas of every view ---

_VERSION = {
    "type": "object",
    "required": ["id", "fetched_at", "status", "final_url", "redirects", "headers"],
    "properties": {
        "id": {"type": "integer"},
        "status": {"type": "integer"},
        "body_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "record_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "redirects": {"type": "array", "items": {"type": "object"}},
    },
}
_CHANGE = {
    "type": "object",
    "required": ["id", "kind", "parts", "summary", "detected_at", "version_id"],
    "properties": {"kind": {"enum": ["new", "changed", "removed", "restored"]}},
}
_COMPARISON = {
    "type": "object",
    "required": ["old", "new", "changed_parts", "parts"],
    "properties": {
        "old": _VERSION,
        "new": _VERSION,
        "parts": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["part", "changed", "edits"],
                "properties": {
                    "part": {"enum": list(PARTS)},
                    "edits": {
                        "type": "array",
                        "items": {
                            "type": "array",
                            "prefixItems": [{"enum": ["=", "-", "+"]}, {"type": "string"}],
                        },
                    },
                },
            },
        },
    },
}
SCHEMAS = {
    "pages": {
        "type": "object",
        "required": ["total", "offset", "limit", "pages"],
        "properties": {
            "pages": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "url", "name", "tags", "state", "versions", "last_change"],
                    "properties": {"last_change": {"anyOf": [{"type": "null"}, _CHANGE]}},
                },
            }
        },
    },
    "page": {
        "type": "object",
        "required": ["page", "total_versions", "offset", "limit", "versions", "changes"],
        "properties": {
            "versions": {"type": "array", "items": _VERSION},
            "changes": {"type": "array", "items": _CHANGE},
        },
    },
    "diff": {"allOf": [_COMPARISON, {"required": ["page_id", "url"]}]},
    "change": {"allOf": [_CHANGE, {"required": ["page_id", "url", "comparison"]}]},
    "version": {"allOf": [_VERSION, {"required": ["page_id", "url"]}]},
}


def test_json_api_matches_its_schemas(site: Site) -> None:
    """Every JSON view validates against its documented shape."""
    change_id = get(f"{site.base}/api/pages/{site.page_id}").json()["changes"][-2]["id"]
    documents = {
        "pages": get(site.base + "/api/pages").json(),
        "page": get(f"{site.base}/api/pages/{site.page_id}").json(),
        "diff": get(
            f"{site.base}/api/pages/{site.page_id}/diff",
            params={"a": site.ids[0], "b": site.ids[4]},
        ).json(),
        "change": get(f"{site.base}/api/changes/{change_id}").json(),
        "version": get(f"{site.base}/api/versions/{site.ids[3]}").json(),
    }
    for name, document in documents.items():
        jsonschema.validate(document, SCHEMAS[name])
    assert documents["version"]["redirects"][0]["status"] == 301
    assert get(site.base + "/api/versions/99999").status_code == 404


def test_schemas_reject_a_wrong_document() -> None:
    """The schema test can fail: a version without its hash format is refused."""
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {
                "id": 1,
                "fetched_at": "",
                "status": 200,
                "final_url": "",
                "redirects": [],
                "headers": {},
                "body_sha256": "nothex",
            },
            _VERSION,
        )


# --- access ---


def test_token_is_required_when_set(db: Store, caplog: pytest.LogCaptureFixture) -> None:
    """Without the token: 401 and a Basic challenge; Bearer or Basic with it: 200; never logged."""
    caplog.set_level(logging.DEBUG)
    with running(create_app(db, Watchlist(), reader=shared_readers(), token=TOKEN)) as base:
        refused = get(base + "/api/pages")
        wrong = get(base + "/api/pages", headers={"Authorization": "Bearer nope-nope-nope-nope"})
        bearer = get(base + "/api/pages", headers={"Authorization": f"Bearer {TOKEN}"})
        basic = get(base + "/", auth=("anyone", TOKEN))
    assert (refused.status_code, wrong.status_code) == (401, 401)
    assert refused.headers["www-authenticate"].startswith("Basic")
    assert (bearer.status_code, basic.status_code) == (200, 200)
    assert TOKEN not in caplog.text


def test_binding_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    """127.0.0.1, ::1 and localhost need none; any other address refuses to start without."""
    assert all(map(is_loopback, ["127.0.0.1", "::1", "localhost", "127.0.0.2"]))
    check_bind("127.0.0.1", None)
    with pytest.raises(ConfigError, match="needs an access token"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", TOKEN)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    assert load_token(token_file, {}) == TOKEN
    assert load_token(None, {"WATCHER_SERVE_TOKEN": TOKEN}) == TOKEN
    assert load_token(None, {}) is None
    with pytest.raises(ConfigError, match="at least"):
        load_token(None, {"WATCHER_SERVE_TOKEN": "short"})


def test_serve_command_refuses_public_bind_without_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """watcher serve --host 0.0.0.0 exits with a usage error before opening anything."""
    monkeypatch.delenv("WATCHER_SERVE_TOKEN", raising=False)
    code = main(["-c", str(tmp_path / "none.toml"), "serve", "--host", "0.0.0.0"])
    assert code == EXIT_USAGE
    assert "needs an access token" in capsys.readouterr().err


def test_raw_body_digest_matches_history(site: Site) -> None:
    """What the frame shows is the evidence: its SHA-256 is the one the API lists."""
    listed = get(f"{site.base}/api/pages/{site.page_id}").json()["versions"]
    for version in listed:
        raw = get(f"{site.base}/versions/{version['id']}/raw?download=1")
        assert hashlib.sha256(raw.content).hexdigest() == version["body_sha256"]
        assert "attachment" in raw.headers["content-disposition"]
