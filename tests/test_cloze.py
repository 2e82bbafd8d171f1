"""Recognising dates and treaties, and writing them as cloze deletions Anki can parse."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deckforge import cloze


def deletions(text: str) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.kind) for s in cloze.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1926 = treaty of berlin", [("1926", "date"), ("treaty of berlin", "treaty")]),
        ("invited to join sep 1934", [("sep 1934", "date")]),
        ("most intensive period was 1929 to 1932", [("1929 to 1932", "date")]),
        ("when invasion came on 22 june 1941, the USSR", [("22 june 1941", "date")]),
        ("(chicherin 1918-30 CfFA)", [("1918-30", "date")]),
        ("1930s - stalin concerned about japanese aggression", [("1930s", "date")]),
        ("USSR defeated J in aug 1939 - J underestimated", [("aug 1939", "date")]),
        ("comintern used in 1929 to launch attack", [("1929", "date")]),
        (
            "after rapallo treaty in 1922, build reactions",
            [("rapallo treaty", "treaty"), ("1922", "date")],
        ),
        (
            "the 1926 ToB building on foundations of the 1922 ToR: had",
            [("1926", "date"), ("ToB", "treaty"), ("1922", "date"), ("ToR", "treaty")],
        ),
        (
            "1932 non aggression pact with france formed basis of a franco-soviet pact of "
            "mutual assistance negotiated in 1934",
            [
                ("1932", "date"),
                ("non aggression pact", "treaty"),
                ("franco-soviet pact of mutual assistance", "treaty"),
                ("1934", "date"),
            ],
        ),
        (
            "J and G signed anti comintern pact on 1936, italy joining",
            [("anti comintern pact", "treaty"), ("1936", "date")],
        ),
        (
            "areas banned under versailles treaty",
            [("versailles treaty", "treaty")],
        ),
        (
            "negotiated continuation of berlin treaty 1931",
            [("berlin treaty", "treaty"), ("1931", "date")],
        ),
        ("nazi-soviet pact aug 1939", [("nazi-soviet pact", "treaty"), ("aug 1939", "date")]),
        ("reasons for n-s pact", [("n-s pact", "treaty")]),
        (
            "1914–18 and the Treaty of Brest-Litovsk",
            [("1914–18", "date"), ("Treaty of Brest-Litovsk", "treaty")],
        ),
        ("between 1905 and 1907", [("1905 and 1907", "date")]),
        ("November 11, 1918", [("November 11, 1918", "date")]),
    ],
)
def test_finds_dates_and_treaties(text: str, expected: list[tuple[str, str]]) -> None:
    assert deletions(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "70% of the foreigners working in USSR",
        "finland gave up 10% of territory",
        "J underestimated with 75% forces killed",
        "it only took G 6 weeks to defeat most of western europe",
        "made into 10 year agreement",
        "pacts not followed by any serious military planning",
        "the alliance failed to happen",
        "the treaty was signed",
        "1500 tanks and 2000 men",
        "a 30-year lease",
        "£1926 and $1931",
        "page 12.1926",
    ],
)
def test_leaves_other_numbers_and_words_alone(text: str) -> None:
    assert deletions(text) == []


@given(st.text())
def test_spans_are_ordered_and_never_overlap(text: str) -> None:
    spans = cloze.find(text)
    assert all(0 <= s.start < s.end <= len(text) for s in spans)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))


def test_mark_numbers_deletions_in_order() -> None:
    text = "1926 = treaty of berlin"
    assert cloze.mark(text, cloze.find(text)) == "{{c1::1926}} = {{c2::treaty of berlin}}"


def test_mark_escapes_html_and_cloze_syntax() -> None:
    text = "x < y & {{c1::z}} :: 1926"
    marked = cloze.mark(text, cloze.find(text))
    assert marked == "x &lt; y &amp; &#123;&#123;c1::z&#125;&#125; :: {{c1::1926}}"


def test_mark_keeps_colons_inside_a_deletion_literal() -> None:
    assert cloze.mark("a::b", [cloze.Span(0, 4, "treaty")]) == "{{c1::a&#58;&#58;b}}"
