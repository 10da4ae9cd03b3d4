"""Alert rendering and delivery: real apprise plugins, a real SMTP server, a local Slack."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SlackEndpoint, SmtpServer
from watcher.alerts.message import AlertItem, excerpt_edits, render_message
from watcher.alerts.notify import deliver_due, send_test
from watcher.cli import EXIT_ERRORS, EXIT_OK, main
from watcher.config import Watch, Watchlist, parse_watchlist
from watcher.errors import ConfigError, NotifyError
from watcher.read.diff import Edit, Op, diff_texts
from watcher.store.store import Store

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
EVIL = "refused <!channel> <@U024BE7LH> <http://evil.example|click here> *now* & [x](http://evil.example)"


def changed_item(**event: Any) -> AlertItem:
    """A headline+body change whose page text tries every injection we know of."""
    body = diff_texts(
        "The minister declined to comment on Friday.", f"The minister {EVIL} on Friday."
    )
    return AlertItem(
        kind="changed",
        page="Minister resigns",
        url="https://news.example/a?id=1&lang=en",
        detected_at=T0,
        event={
            "summary": "headline changed: 'Minister resigns' -> '<script>alert(1)</script>'",
            "parts": ["headline", "body"],
            "headline": excerpt_edits(diff_texts("Minister resigns", "<script>alert(1)</script>")),
            "body": excerpt_edits(body),
            **event,
        },
    )


def html_and_text(message: EmailMessage) -> tuple[str, str]:
    html_part = message.get_body(preferencelist=("html",))
    text_part = message.get_body(preferencelist=("plain",))
    assert html_part is not None
    assert text_part is not None
    return html_part.get_content(), text_part.get_content()


def watchlist(**routes: dict[str, Any]) -> Watchlist:
    return Watchlist.model_validate({"notify": routes})


def store_alert(db: Store, route: str, *, when: datetime = T0, text: str = "x") -> int:
    """One change alert in the outbox, written the way the pipeline writes it."""
    from tests.factories import make_article, make_fetch_result, make_version
    from watcher.store.store import ChangeDraft

    url = f"https://news.example/{text}"
    page_id = db.sync_pages([(url, f"page {text}")], when)[url]
    draft = ChangeDraft("changed", ("body",), None, f"edited {text}", 1, 1, when)
    event = {"summary": f"edited {text}", "parts": ["body"], "body": None}
    fetched = make_fetch_result(f"<p>{text}</p>", url=url, fetched_at=when)
    db.record_version(
        page_id,
        make_version(fetched, make_article(text)),
        change=draft,
        alerts=[route],
        alert_event=event,
    )
    return page_id


def test_slack_alert_arrives_with_page_markup_escaped(slack: SlackEndpoint) -> None:
    """<!channel>, <@user>, <url|label> and [x](url) in page text reach Slack inert."""
    route = watchlist(desk={"urls": [slack.url()]})
    message_for = {fmt: render_message([changed_item()], fmt) for fmt in ("slack", "html", "text")}
    from watcher.alerts.notify import route_targets, send_message

    (target,) = route_targets(route.notify["desk"])
    assert send_message(target, message_for) is None
    (payload,) = slack.payloads
    text = payload["attachments"][0]["text"]
    assert "<!" not in text
    assert "<@" not in text
    assert "<http://evil" not in text
    assert "|click" not in text.replace("&lt;http://evil.example|click here&gt;", "")
    assert "&lt;!channel&gt;" in text
    assert "&lt;@U024BE7LH&gt;" in text
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    # the only real link is ours, to the watched page
    assert "<https://news.example/a?id=1&amp;lang=en|Minister resigns>" in text
    assert "~declined to comment~*refused" in text
    assert (
        payload["attachments"][0]["title"] == "Headline changed and text edited: Minister resigns"
    )
    assert slack.paths == ["/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX"]


def test_email_has_html_and_text_parts_with_marked_diff(smtp: SmtpServer) -> None:
    """Email: HTML with <del>/<ins> and escaped page text, plus a wdiff-style text part."""
    route = watchlist(desk={"urls": [smtp.url()]})
    item = changed_item()
    from watcher.alerts.notify import route_targets, send_message

    (target,) = route_targets(route.notify["desk"])
    messages = {fmt: render_message([item], fmt) for fmt in ("slack", "html", "text")}
    assert send_message(target, messages) is None
    (mail,) = smtp.messages
    assert mail["Subject"] == "Headline changed and text edited: Minister resigns"
    assert mail.get_content_type() == "multipart/alternative"
    html, text = html_and_text(mail)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;!channel&gt;" in html
    assert '<a href="http://evil' not in html
    assert "<del" in html
    assert ">declined to comment<" in html
    assert "<ins" in html
    assert '<a href="https://news.example/a?id=1&amp;lang=en">Minister resigns</a>' in html
    assert "[-declined to comment-]{+refused <!channel>" in text
    assert "https://news.example/a?id=1&lang=en" in text


def test_subject_cannot_carry_a_header() -> None:
    """A title never contains a line break, whatever a page name holds."""
    item = AlertItem("removed", "x\r\nBcc: victim@example.org", "https://a/", T0, {})
    title = render_message([item], "html").title
    assert "\n" not in title
    assert "\r" not in title
    assert title.startswith("Removed: gone: x")


def test_long_diff_is_cut_with_a_count_of_what_was_left_out() -> None:
    """A rewrite shows some hunks and says how many more there are."""
    words = [f"word{i}" for i in range(400)]
    edits: list[Edit] = []
    for i, word in enumerate(words):
        edits.append(Edit(Op.EQUAL, " ".join(["same"] * 40) + " "))
        edits.append(Edit(Op.DELETE, word))
        edits.append(Edit(Op.INSERT, word.upper() + "x" * (600 if i == 0 else 0)))
    excerpt = excerpt_edits(edits)
    assert excerpt is not None
    assert excerpt["omitted"] == 400 - len(excerpt["hunks"]) > 300
    item = AlertItem("changed", "p", "https://a/", T0, {"parts": ["body"], "body": excerpt})
    text = render_message([item], "text").body
    assert f"… {excerpt['omitted']} more changes not shown" in text
    assert "more characters]" in text  # the 600-character insertion was cut too


def test_removal_kinds_are_named() -> None:
    """Each removal says how: 404, 410, 451 legal, redirected, emptied; and the others."""
    cases = {
        ("removed", "gone", 404): "Removed: 404 Not Found",
        ("removed", "gone", 410): "Removed: 410 Gone",
        ("removed", "legal", 451): "Removed: 451 unavailable for legal reasons",
        ("removed", "redirected", 200): "Removed: redirected away",
        ("removed", "soft_404", 200): "Removed: soft 404",
        ("removed", "notice", 200): "Removed: removal notice",
        ("restored", None, 200): "Restored",
        ("unreachable", None, None): "Unreachable",
        ("reachable", None, 200): "Reachable again",
    }
    for (kind, removal, status), expected in cases.items():
        event = {"removal": removal, "status": status, "summary": "s", "since": T0.isoformat()}
        item = AlertItem(kind, "p", "https://a/", T0 + timedelta(hours=2), event)
        assert render_message([item], "text").title.startswith(expected), (kind, removal)


def test_route_secret_from_environment_delivers_and_never_logs(
    db: Store, slack: SlackEndpoint, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """urls_env supplies the webhook; no log line, even at DEBUG, shows its tokens."""
    secret = "T1SECRET/B2SECRET/s3cr3tW3bh00kT0k3nxyz"
    monkeypatch.setenv("WATCHER_DESK_URLS", f"slack://{secret}")
    caplog.set_level(logging.DEBUG)
    wl = watchlist(desk={"urls_env": "WATCHER_DESK_URLS"})
    store_alert(db, "desk", text="one")
    slack.failures = 1
    assert deliver_due(db, wl, now=T0, owner="a") == 0
    assert deliver_due(db, wl, now=T0 + timedelta(minutes=5), owner="a") == 1
    assert slack.paths == [f"/services/{secret}"]
    assert "not delivered" in caplog.text  # the failure was logged …
    assert "s3cr3tW3bh00kT0k3nxyz" not in caplog.text  # … with the URL masked
    assert "B2SECRET" not in caplog.text
    assert db.outbox.alerts()[0].last_error is None


def test_route_from_file_and_missing_environment(
    db: Store, smtp: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """urls_file (LoadCredential= style) works; a missing variable is a retried failure."""
    secret = tmp_path / "urls"
    secret.write_text(f"# desk mail\n{smtp.url()}\n", encoding="utf-8")
    monkeypatch.delenv("WATCHER_NOPE", raising=False)
    wl = watchlist(mail={"urls_file": str(secret)}, gone={"urls_env": "WATCHER_NOPE"})
    store_alert(db, "mail", text="one")
    store_alert(db, "gone", text="two")
    assert deliver_due(db, wl, now=T0, owner="a") == 1
    assert len(smtp.messages) == 1
    failed = next(a for a in db.outbox.alerts() if a.route == "gone")
    assert failed.sent_at is None
    assert failed.attempts == 1
    assert failed.last_error == "environment variable WATCHER_NOPE is not set"


def test_user_templates_apply_and_still_escape(slack: SlackEndpoint) -> None:
    """A route's own template is used; the page text it receives is still escaped."""
    wl = parse_watchlist(
        '[notify.desk]\nurls = ["slack://T/B/C"]\n'
        '[notify.desk.templates]\ntitle = "[$route] $page"\nslack = "$kind | $summary | $page"\n'
    )
    item = AlertItem("removed", "P", "https://a/", T0, {"removal": "legal", "summary": "<!here>"})
    message = render_message([item], "slack", dict(wl.notify["desk"].templates))
    assert message.body == "Removed: 451 unavailable for legal reasons | \\<\\!here\\> | P"
    assert render_message([item], "text", {"title": "[$route] $page"}).title == "[] P"


def test_templates_and_routes_are_validated() -> None:
    """Unknown placeholders and undefined default routes are reported with their key."""
    with pytest.raises(ConfigError, match=r"templates.title: unknown \['pagee'\]"):
        parse_watchlist('[notify.a]\nurls = ["json://x"]\ntemplates = { title = "$pagee" }\n')
    with pytest.raises(ConfigError, match=r"settings.default_notify\[0\]: no route named 'b'"):
        parse_watchlist('[settings]\ndefault_notify = ["b"]\n[notify.a]\nurls = ["json://x"]\n')


def test_routing_rule() -> None:
    """Own routes plus tag routes; the default only when neither gives any."""
    wl = Watchlist.model_validate(
        {
            "settings": {"default_notify": ["all"]},
            "notify": {
                "all": {"urls": ["json://a"]},
                "china": {"urls": ["json://b"], "tags": ["china"]},
                "legal": {"urls": ["json://c"]},
            },
        }
    )
    own = Watch(url="https://a/", notify=["legal"], tags=["china"])
    tagged = Watch(url="https://b/", tags=["china", "x"])
    plain = Watch(url="https://c/")
    assert wl.routes_for(own) == ("legal", "china")
    assert wl.routes_for(tagged) == ("china",)
    assert wl.routes_for(plain) == ("all",)


def test_test_notify_reports_success_and_apprise_errors(
    slack: SlackEndpoint, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`watcher test-notify ROUTE` sends a sample; a failing endpoint exits non-zero."""
    config = tmp_path / "watcher.toml"
    config.write_text(f'[notify.desk]\nurls = ["{slack.url()}"]\n', encoding="utf-8")
    assert main(["--config", str(config), "test-notify", "desk"]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("desk: sent to slack://")
    assert "XXXXXXXXXXXXXXXXXXXXXXXX" not in out  # masked
    assert "test of the route" in slack.texts[0]
    slack.failures = 1
    assert main(["--config", str(config), "test-notify"]) == EXIT_ERRORS
    out = capsys.readouterr().out
    assert "desk: FAILED slack://" in out
    assert "500" in out
    with pytest.raises(NotifyError, match="no route named 'nope'"):
        send_test(Watchlist.model_validate({}), "nope", T0)
