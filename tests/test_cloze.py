"""Recognising dates and treaties, and writing them as cloze deletions Anki can parse."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from deckforge import cloze
from deckforge.schema import ClozeOptions, Term

from .conftest import hostile_text


def deletions(text: str, options: ClozeOptions = cloze.DEFAULT) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.kind) for s in cloze.find(text, options)]


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
        # treaties with names of several words, in any case, and after "of" a month is a date
        (
            "the london treaty of may 1915",
            [("london treaty", "treaty"), ("may 1915", "date")],
        ),
        ("treaty of campo formio 1797", [("treaty of campo formio", "treaty"), ("1797", "date")]),
        ("the Treaty of St. Germain was", [("Treaty of St. Germain", "treaty")]),
        (
            "the Locarno Treaties and the Tilsit treaties",
            [("Locarno Treaties", "treaty"), ("Tilsit treaties", "treaty")],
        ),
        ("the Jay and Pinckney treaties", [("Jay and Pinckney treaties", "treaty")]),
        ("the Treaty of Amity and Commerce", [("Treaty of Amity and Commerce", "treaty")]),
        (
            "the final Treaty of Paris, Jay's Treaty",
            [("Treaty of Paris", "treaty"), ("Jay's Treaty", "treaty")],
        ),
        # conventions and protocols that are agreements
        (
            "the Geneva Convention, the UN convention on the rights of the child (1989)",
            [
                ("Geneva Convention", "treaty"),
                ("UN convention on the rights of the child", "treaty"),
                ("1989", "date"),
            ],
        ),
        (
            "convention of tauroggen, the kyoto protocol",
            [("convention of tauroggen", "treaty"), ("kyoto protocol", "treaty")],
        ),
    ],
)
def test_finds_dates_and_treaties(text: str, expected: list[tuple[str, str]]) -> None:
    assert deletions(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # years, ranges, decades
        ("the 1945 elections and in 1930 strikes spread", ["1945", "1930"]),
        ("pre-1914 europe and the mid-1930s", ["1914", "1930s"]),
        ("1939-1945 and 1914-18 and 1939–45", ["1939-1945", "1914-18", "1939–45"]),
        ("from 1905 to 1907, then until 1910", ["1905 to 1907", "1910"]),
        ("between 1905 and 1907", ["1905 and 1907"]),
        ("between september of 1939 and 1940", ["september of 1939 and 1940"]),
        ("the 1920s and 1930’s", ["1920s", "1930’s"]),
        # months and seasons with a year
        ("Sept. 1939 and march 1917", ["Sept. 1939", "march 1917"]),
        (
            "summer 1940, winter of 1962, spring of 1968",
            ["summer 1940", "winter of 1962", "spring of 1968"],
        ),
        # full dates, in the common orders
        ("4th July 1776 and 1st of May 1890", ["4th July 1776", "1st of May 1890"]),
        ("November 11, 1918 and june 22 1941", ["November 11, 1918", "june 22 1941"]),
        ("from 3 March 1918 to 11 November 1918", ["3 March 1918 to 11 November 1918"]),
        (
            "4–11 february 1945, then 16 to 28 october 1962",
            ["4–11 february 1945", "16 to 28 october 1962"],
        ),
        ("on 6 june the allies landed", ["6 june"]),
        ("the armistice of 1918-11-11", ["1918-11-11"]),
        # numeric dates: day and month either way round, two-digit years with slashes
        (
            "14/7/1789, 4/8/1914, 11.11.1918, US 7/4/1776 and 12/24/1814, 26/8/89",
            ["14/7/1789", "4/8/1914", "11.11.1918", "7/4/1776", "12/24/1814", "26/8/89"],
        ),
        # ranges of days and of months are one deletion
        (
            "March 7–9, 1936; 1-3 july 1916; june–july 1940; feb-nov 1942; 10-15 feb",
            ["March 7–9, 1936", "1-3 july 1916", "june–july 1940", "feb-nov 1942", "10-15 feb"],
        ),
        ("really c. 110 days (20 march–8 july)", ["20 march–8 july"]),
        # a day and a month without a year; the republican calendar; a day in words
        ("on 6 aug, by 9 may, 21 oct and 5 dec", ["6 aug", "9 may", "21 oct", "5 dec"]),
        ("coup of 18 brumaire; 13 vendémiaire", ["18 brumaire", "13 vendémiaire"]),
        ("goya's 'the third of may 1808'", ["third of may 1808"]),
        # a year beside a plural noun is a year when the text is about that time
        ("1945 Soviets took Berlin", ["1945"]),
        ("1945 soviets took berlin", ["1945"]),
        ("1848 revolutions swept europe", ["1848"]),
        (
            "the twenty-seventh of september 1939; losses were c. 5000",
            ["twenty-seventh of september 1939"],
        ),
        (
            "Treaty of Versailles 1919 imposed reparations; Geneva Protocol 1925 banned gas",
            ["1919", "1925"],
        ),
        ("around 1750 the industrial revolution began, by roughly 1500", ["1750", "1500"]),
        (
            "the Long March 1934-35, PM Theresa May 2016-19, London, May 1921",
            ["1934-35", "2016-19", "May 1921"],
        ),
        ("9. November 1918, but 2. March on Rome 1922", ["9. November 1918", "1922"]),
        (
            "on 6 june 1944 troops landed; 18 brumaire year VIII; Sept 11; ca 1789",
            ["6 june 1944", "18 brumaire", "Sept 11", "ca 1789"],
        ),
        ("peace of 20/11/1815: harsher – 1790 frontiers", ["20/11/1815", "1790"]),
        ("jaffa march 1799, c. 3000 ottoman prisoners shot", ["march 1799"]),
        # circa, BC and AD
        ("c. 1800, circa 1650 and c.1700", ["c. 1800", "circa 1650", "c.1700"]),
        ("caesar died 44 BC; vesuvius erupted AD 79", ["44 BC", "AD 79"]),
        ("democritus c. 400 BC, euclid 300 BCE", ["c. 400 BC", "300 BCE"]),
    ],
)
def test_date_forms(text: str, expected: list[str]) -> None:
    assert [t for t, kind in deletions(text) if kind == "date"] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the treaty of versailles (ToV) and then the ToV", ["treaty of versailles", "ToV", "ToV"]),
        ("Treaty of San Stefano", ["Treaty of San Stefano"]),
        ("the anglo-german naval treaty", ["anglo-german naval treaty"]),
        ("the nuclear non-proliferation treaty", ["nuclear non-proliferation treaty"]),
        ("the kellogg–briand pact", ["kellogg–briand pact"]),
        ("italy and germany signed the pact of steel", ["pact of steel"]),
        (
            "the helsinki accords and the camp david accords",
            ["helsinki accords", "camp david accords"],
        ),
        (
            "the munich agreement and the four power agreement",
            ["munich agreement", "four power agreement"],
        ),
        ("the anglo-soviet trade agreement", ["anglo-soviet trade agreement"]),
        ("Treaty Of Versailles, TREATY OF TRIANON", ["Treaty Of Versailles", "TREATY OF TRIANON"]),
    ],
)
def test_treaty_forms(text: str, expected: list[str]) -> None:
    assert [t for t, kind in deletions(text) if kind == "treaty"] == expected


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
        "£6 million, $1,500 and 1500 roubles",
        "1200 scientists, 2000 warheads and 1,000 km",
        "13 days, a 25 year treaty and a 1000-year reich",
        "the 17th parallel, the 19th century and the 2nd law",
        "article 231 and article 5",
        "Apollo 11, Sputnik 1, SS-20 and the U-2",
        "-273 degrees and 3000 metres",
        "a trade agreement with britain; an agreement was reached; a secret agreement",
        "the yalta conference, truman doctrine and marshall plan, a safety protocol",
        # counts that look like years, assemblies that are called conventions
        "only 1200 were admitted; 1500 Germans were killed; about 1100 of them came",
        "a party convention, by convention, the national convention, the Hartford Convention met",
        "a US treaty, an Indian treaty, Wilson's treaty, treaty-making, a treaty of annexation",
        "a 10-year non-aggression pact with Poland, of their own accord",
        "11:30 bc the ground was soaked; 3/4 of the army; a 20 yr alliance",
        "Python 3.10.12, section 4.1.12, a 1500 m race, boiling point 1413 °C, a pact of silence",
        "treaties and pacts and agreements",
        "they may 5 times march 3 miles",
        "the ToC of the book, a ToDO list",
        "the harsh treaty, a peace treaty, a defensive pact",
        "it listed 1022 stars; around 1700 fellows; 1500 tanks",
    ],
)
def test_leaves_other_numbers_and_words_alone(text: str) -> None:
    # percentages, money, counts, durations, ordinals, article numbers, generic mentions
    assert deletions(text) == []


def test_a_date_inside_a_glossary_term_stays_in_the_term() -> None:
    glossary = ClozeOptions(glossary=[Term(term="treaty of 1839", kind="treaty")])
    assert deletions("the treaty of 1839 guaranteed belgium", glossary) == [
        ("treaty of 1839", "treaty")
    ]


def test_glossary_adds_and_ignore_removes_terms() -> None:
    text = "munich conference 1938, made into 10 year agreement, the munich agreement"
    assert deletions(text) == [("1938", "date"), ("munich agreement", "treaty")]
    options = ClozeOptions(glossary=["Munich Conference"], ignore=["the munich agreement"])
    assert deletions(text, options) == [("munich conference", "term"), ("1938", "date")]


def test_a_glossary_entry_says_its_kind_and_applies_whatever_the_kinds() -> None:
    options = ClozeOptions(
        kinds=["date"],
        glossary=["Robespierre", Term(term="munich conference", kind="treaty")],
    )
    text = "robespierre fell in july 1794; the munich conference, 1938"
    assert deletions(text, options) == [
        ("robespierre", "term"),
        ("july 1794", "date"),
        ("munich conference", "treaty"),
        ("1938", "date"),
    ]


def test_kinds_limits_what_is_clozed() -> None:
    text = "1926 = treaty of berlin"
    assert deletions(text, ClozeOptions(kinds=["treaty"])) == [("treaty of berlin", "treaty")]
    assert deletions(text, ClozeOptions(kinds=["date"])) == [("1926", "date")]


def test_deletions_never_split_a_word() -> None:
    assert deletions("X1926 1926X ToBe Totally pactum treatyless disagreements") == []
    assert deletions("berlin", ClozeOptions(glossary=["erli"])) == []


TEXTS = hostile_text()


@settings(max_examples=300, deadline=None)  # no timing in tests: CI machines vary
@given(TEXTS)
def test_spans_are_ordered_on_word_boundaries_and_never_overlap(text: str) -> None:
    spans = cloze.find(text)
    assert all(0 <= s.start < s.end <= len(text) for s in spans)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))
    word = re.compile(r"\w\w")
    for s in spans:
        assert not word.match(text, s.start - 1) if s.start > 0 else True
        assert not word.match(text, s.end - 1) if s.end < len(text) else True


def test_mark_numbers_each_deletion_as_told() -> None:
    text = "1926 = treaty of berlin"
    assert cloze.mark(text, cloze.find(text), [1, 2]) == "{{c1::1926}} = {{c2::treaty of berlin}}"
    assert cloze.mark(text, cloze.find(text), [3, 1]) == "{{c3::1926}} = {{c1::treaty of berlin}}"


def test_mark_escapes_html_and_cloze_syntax() -> None:
    text = "x < y & {{c1::z}} :: 1926"
    marked = cloze.mark(text, cloze.find(text), [1])
    assert marked == "x &lt; y &amp; &#123;&#123;c1::z&#125;&#125; :: {{c1::1926}}"


def test_mark_keeps_colons_inside_a_deletion_literal() -> None:
    assert cloze.mark("a::b", [cloze.Span(0, 4, "treaty")], [1]) == "{{c1::a&#58;&#58;b}}"


def test_mark_one_number_twice_puts_both_deletions_on_one_card() -> None:
    text = "1926 = treaty of berlin"
    marked = cloze.mark(text, cloze.find(text), [1, 1])
    assert marked == "{{c1::1926}} = {{c1::treaty of berlin}}"


@given(text=hostile_text())
def test_unmark_gives_back_what_mark_was_given(text: str) -> None:
    spans = cloze.find(text)
    numbers = [2 * n + 1 for n in range(len(spans))]
    marked = cloze.mark(text, spans, numbers)
    deletions = [(text[s.start : s.end], n) for s, n in zip(spans, numbers, strict=True)]
    assert cloze.unmark(marked) == (text, deletions)


@settings(max_examples=300, deadline=None)  # no timing in tests: CI machines vary
@given(st.lists(TEXTS, max_size=6))
def test_scanning_texts_together_finds_what_scanning_each_finds(texts: list[str]) -> None:
    assert cloze.find_all(texts) == [cloze.find(text) for text in texts]


def test_scanning_the_whole_corpus_together_finds_what_scanning_each_bullet_finds() -> None:
    # no rule looks across one bullet into the next: counts beside dates, assemblies, names
    from .cloze_scores import corpus_files, labelled_bullets

    texts = [text for path in corpus_files() for text, _ in labelled_bullets(path)]
    assert cloze.find_all(texts) == [cloze.find(text) for text in texts]


def test_a_date_word_at_the_start_of_a_bullet_scanned_with_others() -> None:
    texts = ["finland gave up 10% of territory", "sep 1939: G invaded P", "may 1940 came"]
    assert [
        [t[s.start : s.end] for s in spans]
        for t, spans in zip(texts, cloze.find_all(texts), strict=True)
    ] == [[], ["sep 1939"], ["may 1940"]]


DATE_PIECES = st.lists(
    st.sampled_from(
        ["1", "12", "123", "1234", "12345", "0", "05", "31", "st", "nd", "th", " ", "-", "–",
         "%", ".", ",", "’", "s", "BC", "B.C.", "AD", "ce", "june", "sep", "of", "to", "c.",
         "between", "and", "x", "\n"]
    ),
    max_size=12,
).map("".join)  # fmt: skip
UNGUARDED = re.compile(rf"{cloze._BETWEEN}|(?P<date>{cloze._DATE})", re.IGNORECASE)


@settings(max_examples=500, deadline=None)
@given(text=DATE_PIECES)
@example(text="12BC, 5 AD, 800BC, 1920s, 1918-11-11, 22nd june 1941, 5–7 may 1950, 6 june")
@example(text="c. 1800, 14% of 1,000 in 12345")
def test_numbers_that_cannot_start_a_date_are_skipped_without_losing_one(text: str) -> None:
    for i in range(len(text)):
        full, fast = UNGUARDED.match(text, i), cloze._DATES.match(text, i)
        assert (full and (full.span(), full.lastgroup)) == (fast and (fast.span(), fast.lastgroup))


def rules_table() -> list[tuple[str, bool]]:
    """Each example of the README's rules table, and whether it is marked (else left alone)."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Cloze deletions: the rules", 1)[1].split("###", 1)[0]
    examples = []
    for row in section.splitlines():
        cells = row.split(" | ")
        if len(cells) == 3 and not row.startswith(("| kind", "| ---")):
            examples += [(e, True) for e in re.findall(r"`([^`]+)`", cells[1])]
            examples += [(e, False) for e in re.findall(r"`([^`]+)`", cells[2])]
    return examples


@pytest.mark.parametrize(("example", "marked"), rules_table())
def test_the_readme_rules_table_is_true(example: str, marked: bool) -> None:
    # "[...]" shows the deletion where the words around it stay; else the whole example is one
    text = example.replace("[", "").replace("]", "")
    expected = re.findall(r"\[([^\]]+)\]", example) if "[" in example else [text]
    assert [t for t, _ in deletions(text)] == (expected if marked else [])
