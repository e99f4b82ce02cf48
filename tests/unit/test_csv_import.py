"""The school export file: header, encodings, every line checked with its
line number and a French message."""

from __future__ import annotations

from datetime import date

import pytest

from educonnect.csv_import import FileRefused, check_file, parse

HEADER = (
    "identifiant_eleve;nom_eleve;prenom_eleve;date_naissance;classe;niveau;"
    "resp1_nom;resp1_prenom;resp1_mobile;resp1_email;resp2_nom;resp2_prenom;resp2_mobile;resp2_email"
)
GOOD = (
    "123456789AB;Lefèvre;Zoé;04/03/2013;5e A;5e;Lefèvre;Hélène;06 12 34 56 78;helene@example.fr;;;;"
)


def test_a_good_line_is_normalised():
    parsed = parse(f"{HEADER}\r\n{GOOD}\r\n".encode())
    assert parsed.errors == [] and parsed.rows_total == 1
    [(line_no, row)] = parsed.rows
    assert line_no == 2
    assert (row.external_id, row.first_name, row.birthdate, row.class_name) == (
        "123456789AB",
        "Zoé",
        date(2013, 3, 4),
        "5e A",
    )
    [guardian] = row.guardians
    assert guardian.mobile == "+33612345678" and guardian.email == "helene@example.fr"


def test_each_bad_line_is_reported_with_its_number_and_the_others_go_through():
    lines = [
        HEADER,
        GOOD,
        "",  # empty lines are skipped, but counted in line numbers
        "X1;Martin;Léo;31/02/2013;5e A;5e;Martin;Paul;;;;;;",
        "X2;Martin;Léa;01/02/2013;5e A;5e;Martin;Paul;01 45 67 89 10;paul@;;;;",
        "X3;Dupont;Lou;01/02/2013;5e A;5e;;;;;Dupont;;;",
        "123456789ab;Autre;Nom;01/02/2013;5e A;5e;Autre;Pierre;;;;;;",
        "X4;D4rk;Léo;01/02/2013;5e B;5e;Martin;Paul;;;;;;",
        "X5;Durand;Inès;01/02/2013;5e B;5e;Durand;Anne;;;;;;",
    ]
    parsed = parse("\n".join(lines).encode("utf-8"))
    assert parsed.rows_total == 7
    assert [n for n, _ in parsed.rows] == [2, 9]
    errors = {(e.line_no, e.field): e.message for e in parsed.errors}
    assert "n'est pas une date valide" in errors[(4, "date_naissance")]
    assert (
        "01 45 67 89 10" in errors[(5, "resp1_mobile")] and "mobile" in errors[(5, "resp1_mobile")]
    )
    assert "adresse électronique" in errors[(5, "resp1_email")]
    assert errors[(6, "resp1_nom")] == "Le nom du responsable 1 est obligatoire."
    assert errors[(6, "resp2_prenom")] == "Le prénom du responsable 2 est obligatoire."
    assert "figure déjà ligne 2" in errors[(7, "identifiant_eleve")]  # case-insensitive identifier
    assert "lettres" in errors[(8, "nom_eleve")]
    assert parsed.invalid_lines == {4, 5, 6, 7, 8}


def test_windows_1252_comma_separated_and_aliases():
    content = (HEADER.replace(";", ",").replace("identifiant_eleve", "INE").replace("date_naissance", "Date de naissance")
               + "\r\n" + GOOD.replace(";", ",") + "\r\n").encode("cp1252")  # fmt: skip
    parsed = parse(content)
    assert parsed.errors == [] and parsed.rows[0][1].last_name == "Lefèvre"


def test_quoted_multiline_cell_keeps_the_line_numbers_right():
    content = f'{HEADER}\n"X1";"Martin";"Léo";"01/02/2013";"5e A";"5e";"Martin";"Paul\nJean";"";"";;;;\nX2;Bad;Date;xx;5e;5e;A;B;;;;;;\n'
    parsed = parse(content.encode())
    assert [(e.line_no, e.field) for e in parsed.errors if e.field == "date_naissance"] == [
        (4, "date_naissance")
    ]


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "vide"),
        (b"nom;prenom\nA;B\n", "identifiant_eleve"),
        ((HEADER + ";classe\n").encode(), "plusieurs fois"),
        (b"PK\x03\x04\x00\x00\x00", "CSV"),
    ],
)
def test_file_level_refusals(content, words):
    with pytest.raises(FileRefused) as refused:
        check_file(content)
    assert words in str(refused.value)


def test_a_nul_anywhere_refuses_the_file_with_its_line():
    # Past the first 4 kB too: no PostgreSQL text holds it, not even quoted in a line's error
    # (the import would retry its validation forever).
    lines = [HEADER] + [GOOD.replace("123456789AB", f"X{i}") for i in range(60)]
    lines.append("X99;Mar\x00tin;Léo;01/02/2013;5e A;5e;Martin;Paul;;;;;;")
    content = "\n".join(lines).encode()
    assert content.index(b"\x00") > 4096
    with pytest.raises(FileRefused) as refused:
        check_file(content)
    assert "ligne 62" in str(refused.value) and "caractère nul" in str(refused.value)


def test_control_characters_in_a_class_and_huge_cells_quoted_back_short():
    lines = [
        HEADER,
        "X1;Martin;Léo;01/02/2013;5e\x01A;5e;Martin;Paul;;;;;;",
        "X2;Martin;Léa;01/02/2013;5e A;\u202e5e;Martin;Paul;;;;;;",
        f"X3;Martin;Lou;{'9' * 100_000};5e A;5e;Martin;Paul;06 {'1' * 100_000};{'a' * 100_000}@;;;;",
    ]
    parsed = parse("\n".join(lines).encode())
    errors = {(e.line_no, e.field): e.message for e in parsed.errors}
    assert errors[(2, "classe")] == "La colonne classe contient des caractères non autorisés."
    assert errors[(3, "niveau")] == "La colonne niveau contient des caractères non autorisés."
    assert {(4, "date_naissance"), (4, "resp1_mobile"), (4, "resp1_email")} <= set(errors)
    assert max(len(e.message) for e in parsed.errors) < 300
    assert not parsed.rows
