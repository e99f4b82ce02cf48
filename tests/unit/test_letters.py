"""The printable letters (PDF): names as the school spells them."""

from __future__ import annotations

import io
from datetime import date

from pypdf import PdfReader

from educonnect import letters


def _letter(first_name: str, last_name: str, class_name: str = "5e A") -> str:
    content = letters.LetterContent(
        kind="pupil", school_name="Collège Jean Moulin", school_city="Lyon", first_name=first_name,
        last_name=last_name, class_name=class_name, identifier="l.sahin7", provisional_password="Bienvenue27x",
        valid_until=date(2027, 2, 28), portal_url="https://educonnect.example.fr/",
    )  # fmt: skip
    pages = PdfReader(io.BytesIO(letters.render(content))).pages
    assert len(pages) == 1
    return pages[0].extract_text()


def test_names_outside_latin1_keep_their_letters():
    text = _letter("Łukasz Şahin", "Nguyễn-Wałęsa")
    assert "Lukasz Sahin Nguyen-Walesa" in text
    assert "?" not in text.split("classe")[0]


def test_long_right_to_left_and_odd_names_render_one_page():
    for first, last in [("A" * 100, "B" * 100), ("ليلى", "عبد الله"), ("Zoé", "L’Hôte\u202e")]:
        assert "Bienvenue27x" in _letter(first, last, class_name="C" * 30)
