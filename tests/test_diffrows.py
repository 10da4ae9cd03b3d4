"""Side-by-side rows regroup the edits without losing or inventing text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from watcher.read.diff import Op, diff_texts
from watcher.serve.diffrows import Row, collapse_unchanged, side_by_side

paragraphs = st.lists(
    st.sampled_from(["Alpha beta.", "Gamma delta.", "部长辞职。", "x"]), max_size=6
)


def _side(rows: list[Row], old: bool) -> str:
    return "\n\n".join(
        "".join(
            e.text
            for e in (row.old if old else row.new)
            if e.op is not (Op.INSERT if old else Op.DELETE)
        )
        for row in rows
    )


@given(paragraphs, paragraphs)
def test_each_column_reads_as_its_version(before: list[str], after: list[str]) -> None:
    """Joined with paragraph breaks, the left column is the old text and the right the new."""
    old, new = "\n\n".join(before), "\n\n".join(after)
    rows = side_by_side(diff_texts(old, new))
    assert _side([r for r in rows if r.old], old=True) == old
    assert _side([r for r in rows if r.new], old=False) == new


def test_unchanged_rows_are_elided_with_their_count() -> None:
    """Far from any edit, unchanged paragraphs collapse into how many there were."""
    old = "\n\n".join(f"Paragraph {i}." for i in range(10))
    new = old.replace("Paragraph 5.", "Paragraph five.")
    shown = collapse_unchanged(side_by_side(diff_texts(old, new)))
    assert shown[0] == 4
    assert shown[-1] == 3
    assert [row.is_changed for row in shown[1:-1]] == [False, True, False]  # type: ignore[union-attr]
