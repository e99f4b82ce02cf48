"""Printable letters (PDF) with the school-issued credentials (DESIGN §3.11,
FAQ 2.2 and 2.4), for pupils and for guardians without an email address.

One A4 page per account, made with fpdf2 (core fonts: nothing embedded, about
2 kB a letter). Letters of a whole import are merged for printing with pypdf.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from datetime import date

from fpdf import FPDF
from fpdf.fonts import CoreFont

from educonnect.french_dates import french_date

# Core PDF fonts cover Latin-1 only: letters outside it get a close spelling.
_OUTSIDE_LATIN1 = str.maketrans(
    {
        "œ": "oe",
        "Œ": "OE",
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "–": "-",
        "—": "-",
        "…": "...",
        "€": "EUR",
        "\u202f": " ",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "ı": "i",
    }
)


def _latin1(text: str) -> str:
    """`text` in Latin-1: a letter outside it loses its accents ("Şahin Nguyễn" ->
    "Sahin Nguyen") rather than its place ("?ahin Nguy?n"); "?" is the last resort."""
    text = text.translate(_OUTSIDE_LATIN1)
    if text.isascii():
        return text
    out = []
    for ch in text:
        if ord(ch) > 0xFF:
            ch = (
                "".join(
                    c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
                )
                or "?"
            )
        out.append(ch)
    return "".join(out).encode("latin-1", "replace").decode("latin-1")


@dataclass(frozen=True)
class LetterContent:
    kind: str  # 'guardian' | 'pupil'
    school_name: str
    school_city: str
    first_name: str
    last_name: str
    class_name: str  # the pupil's class (for a guardian: the children's classes)
    identifier: str
    provisional_password: str
    valid_until: date
    portal_url: str
    children: tuple[tuple[str, str, str], ...] = ()  # (first name, last name, school name)
    reissued: bool = (
        False  # new credentials for an existing account: the earlier ones no longer work
    )


def _guardian_body(c: LetterContent) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = [
        ("p", f"Madame, Monsieur {c.first_name} {c.last_name},"),
        (
            "p",
            (
                "L'établissement scolaire de votre enfant vous remet de nouveaux identifiants provisoires pour votre "
                "compte EduConnect ; les identifiants précédents ne fonctionnent plus."
                if c.reissued
                else "L'établissement scolaire de votre enfant vous a créé un compte EduConnect."
            )
            + " Ce compte unique vous donne accès aux services en ligne de la scolarité de vos enfants (espace "
            "numérique de travail, Livret Scolaire Unique, téléservices).",
        ),
    ]
    if c.children:
        intro = (
            "L'enfant rattaché à ce compte :"
            if len(c.children) == 1
            else "Les enfants rattachés à ce compte :"
        )
        lines.append(("p", intro))
        lines += [("li", f"{first} {last} ({school})") for first, last, school in c.children]
    return lines


def _pupil_body(c: LetterContent) -> list[tuple[str, str]]:
    return [
        ("p", f"{c.first_name} {c.last_name}, classe {c.class_name},"),
        (
            "p",
            (
                "ton établissement te remet de nouveaux identifiants provisoires pour ton compte EduConnect ; les "
                "identifiants précédents ne fonctionnent plus."
                if c.reissued
                else "ton établissement t'a créé un compte EduConnect."
            )
            + " Il te donne accès à l'espace numérique de travail (ENT) de ton établissement et aux services en "
            "ligne de l'Éducation nationale.",
        ),
    ]


def render(content: LetterContent) -> bytes:
    pdf = FPDF(format="A4")
    _page(pdf, content)
    return bytes(pdf.output())


def _page(pdf: FPDF, c: LetterContent) -> None:
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def text(
        value: str, size: float = 11, style: str = "", height: float = 5.5, indent: float = 0
    ) -> None:
        # Greedy word wrap (fpdf2's multi_cell costs ~40 ms a letter, this ~2 ms).
        pdf.set_font("Helvetica", style, size)
        for line in _wrap(pdf, _latin1(value), width - indent):
            pdf.set_x(pdf.l_margin + indent)
            pdf.cell(width - indent, height, line, new_x="LMARGIN", new_y="NEXT")

    text(c.school_name, 12, "B")
    text(c.school_city, 10)
    pdf.ln(4)
    text(f"Classe : {c.class_name}", 10)
    pdf.ln(6)
    text(
        "Vos identifiants EduConnect" if c.kind == "guardian" else "Tes identifiants EduConnect",
        16,
        "B",
        8,
    )
    text("Document personnel et confidentiel", 10, "I")
    pdf.ln(4)
    for kind, value in _guardian_body(c) if c.kind == "guardian" else _pupil_body(c):
        if kind == "li":
            text(f"- {value}", indent=6)
        else:
            text(value)
            pdf.ln(2)
    pdf.ln(2)

    # The credentials, framed.
    pdf.set_draw_color(60, 60, 60)
    top = pdf.get_y()
    pdf.set_xy(pdf.l_margin + 4, top + 4)
    text("Identifiant :", 11, "", 6, indent=4)
    text(c.identifier, 15, "B", 8, indent=10)
    text("Mot de passe provisoire :", 11, "", 6, indent=4)
    pdf.set_font("Courier", "B", 16)
    pdf.set_x(pdf.l_margin + 10)
    pdf.cell(width - 10, 9, _latin1(c.provisional_password), new_x="LMARGIN", new_y="NEXT")
    pdf.rect(pdf.l_margin, top, width, pdf.get_y() - top + 4)
    pdf.set_y(pdf.get_y() + 8)

    until = french_date(c.valid_until)
    you = "Vous" if c.kind == "guardian" else "Tu"
    steps = [
        f"Ces identifiants sont valables 3 mois, jusqu'au {until} inclus.",
        f"Pour activer {'votre' if c.kind == 'guardian' else 'ton'} compte :",
    ]
    for line in steps:
        text(line)
    if c.kind == "guardian":
        actions = [
            f"1. Rendez-vous sur l'écran d'authentification d'EduConnect : {c.portal_url}",
            "2. Saisissez l'identifiant et le mot de passe provisoire ci-dessus.",
            "3. Cliquez sur « Gérer mon compte », choisissez votre mot de passe, saisissez votre adresse "
            "électronique et la date de naissance de l'un de vos enfants.",
            "4. Validez avec « Activer votre compte », puis cliquez sur le lien du courriel de confirmation.",
        ]
        rule = (
            "Votre nouveau mot de passe doit comporter de 8 à 14 caractères, uniquement des lettres non "
            "accentuées et des chiffres, avec au moins une lettre et un chiffre."
        )
        keep = (
            "Conservez votre identifiant : il vous sera demandé à chaque connexion. Le personnel de "
            "l'établissement ne vous demandera jamais votre mot de passe."
        )
    else:
        actions = [
            f"1. Va sur l'écran d'authentification d'EduConnect : {c.portal_url}",
            "2. Saisis l'identifiant et le mot de passe provisoire ci-dessus.",
            "3. Choisis ton mot de passe et confirme ta date de naissance.",
        ]
        rule = (
            "Ton mot de passe doit comporter de 8 à 14 caractères, uniquement des lettres non accentuées et "
            "des chiffres, avec au moins une lettre et un chiffre. Ne le donne à personne."
        )
        keep = f"{you} peux aussi indiquer ton adresse électronique pour retrouver seul ton mot de passe en cas d'oubli."
    for line in actions:
        text(line, indent=4)
    pdf.ln(2)
    text(rule)
    pdf.ln(2)
    text(keep)
    pdf.ln(6)
    text("Le chef d'établissement ou le directeur d'école", 10, "I")


def _wrap(pdf: FPDF, value: str, width: float) -> list[str]:
    # Core font metrics read directly (get_string_width copies the text
    # styles for every call: 10x slower).
    font = pdf.current_font
    assert isinstance(font, CoreFont)  # the letters use core fonts only
    widths: dict[str, int] = font.cw
    scale = pdf.font_size_pt * 0.001 / pdf.k

    def measure(word: str) -> float:
        return sum(widths.get(ch, 600) for ch in word) * scale

    space = measure(" ")
    lines: list[str] = []
    current: list[str] = []
    used = 0.0
    for word in value.split():
        w = measure(word)
        if current and used + space + w > width:
            lines.append(" ".join(current))
            current, used = [], 0.0
        used = w if not current else used + space + w
        current.append(word)
    if current:
        lines.append(" ".join(current))
    return lines or [""]


def merge(pdfs: list[bytes]) -> bytes:
    """One PDF with every page of `pdfs`, in order (for printing)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for pdf in pdfs:
        writer.append(io.BytesIO(pdf))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
