"""The password policy (DESIGN §4), rule by rule."""

from __future__ import annotations

import datetime
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from educonnect.passwords import (
    MESSAGES,
    PUPIL_NAME_MESSAGE,
    PolicyViolation,
    check_password_policy,
    generate_provisional_password,
)
from educonnect.policies import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH


def codes(password: str, **context) -> set[str]:
    return {v.code for v in check_password_policy(password, **context)}


# -- length -----------------------------------------------------------------


@pytest.mark.parametrize("password", ["abcdef12", "abcdefgh12345X", "a1b2c3d4e5"])
def test_length_accepted(password):
    assert check_password_policy(password) == []


@pytest.mark.parametrize("password", ["", "abc12", "abcde12", "abcdefgh12345XY", "a1" * 20])
def test_length_refused(password):
    assert "password_length" in codes(password)


def test_length_message_is_exact():
    (violation,) = check_password_policy("abc123")
    assert violation == PolicyViolation(
        "password_length", "Le mot de passe doit contenir entre 8 et 14 caractères."
    )


# -- characters -------------------------------------------------------------


@pytest.mark.parametrize("password", ["AbCdEf12", "ZZZZZZZ9", "0123456a"])
def test_characters_accepted(password):
    assert "password_characters" not in codes(password)


@pytest.mark.parametrize(
    "password",
    [
        "élodie123",
        "abcdef 12",
        "abcdef-12",
        "abcdef_12",
        "abc.def12",
        "abcdéf12",
        "abcdef12!",
        "abcdefç12",
        "abcdef\t12",
        "abcdef١٢3",
    ],  # the last has Arabic-Indic digits
)
def test_characters_refused(password):
    assert codes(password) == {"password_characters"}


def test_characters_message_is_exact():
    (violation,) = check_password_policy("abcdef 12")
    assert violation.message == (
        "Le mot de passe ne doit contenir que des lettres non accentuées et des chiffres."
    )


# -- digit and letter -------------------------------------------------------


def test_digit_required():
    assert codes("abcdefgh") == {"password_digit"}
    assert codes("abcdefg1") == set()


def test_letter_required():
    assert codes("12345678") == {"password_letter"}
    assert codes("1234567a") == set()


def test_all_violations_are_returned():
    assert codes("   ") == {
        "password_length",
        "password_characters",
        "password_digit",
        "password_letter",
    }


def test_every_message_is_french_and_matches_its_code():
    for password in ["", " ", "m.dupont12", "Dupont2024", "15032012ab"]:
        for v in check_password_policy(
            password,
            identifier="m.dupont12",
            names=["Dupont"],
            birthdates=[datetime.date(2012, 3, 15)],
        ):
            assert v.message == MESSAGES[v.code]
            assert v.message.startswith("Le mot de passe")


# -- identifier -------------------------------------------------------------


@pytest.mark.parametrize(
    "password", ["m.dupont12", "M.DUPONT12", "xMdupont12", "mdupont12ab", "abMDupont12"]
)
def test_identifier_refused(password):
    assert "password_identifier" in codes(password, identifier="m.dupont12")


@pytest.mark.parametrize("password", ["mdupont1", "dupont12ab", "Secret2024"])
def test_identifier_accepted(password):
    # "dupont12ab" misses the initial, "mdupont1" misses the last digit.
    assert "password_identifier" not in codes(password, identifier="m.dupont12")


def test_no_identifier_given():
    assert codes("mdupont12") == set()
    assert codes("mdupont12", identifier="") == set()


# -- names ------------------------------------------------------------------


@pytest.mark.parametrize(
    "password, names",
    [
        ("Dupont2024", ["Dupont"]),
        ("dUpOnT2024", ["Dupont"]),
        ("Elodie12ab", ["Élodie"]),
        ("elodie12ab", ["ÉLODIE"]),
        ("Helene2024", ["Hélène"]),
        ("x1Francois", ["François"]),
        ("Jean2024", ["Jean-Pierre"]),
        ("Pierre2024", ["Jean-Pierre"]),
        ("jeanpierre1", ["Jean-Pierre"]),
        ("tour2024ab", ["De La Tour"]),
        ("delatour12", ["De La Tour"]),
        ("oneill2024", ["O'Neill"]),
        ("neill2024", ["O'Neill"]),
        ("Loeuvre12", ["Lœuvre"]),
        ("ab12martin", ["Élodie", "Martin", "Lucas"]),
    ],
)
def test_name_refused(password, names):
    assert "password_name" in codes(password, names=names)


@pytest.mark.parametrize(
    "password, names",
    [
        ("Secret2024", ["Dupont", "Élodie"]),
        ("delabc12", ["De La Tour"]),  # "de" and "la" are shorter than 3 letters
        ("xlazz2024", ["De La Tour"]),
        ("Jea2024xy", ["Jean-Pierre"]),
        ("Ed2024abcd", ["Ed"]),  # names shorter than 3 letters are ignored
        ("Secret2024", []),
        ("Secret2024", [""]),
    ],
)
def test_name_accepted(password, names):
    assert "password_name" not in codes(password, names=names)


def test_name_in_accented_password_refused_too():
    # Both the characters rule and the name rule apply.
    assert codes("Élodie12ab", names=["Elodie"]) == {"password_characters", "password_name"}


def test_name_message_speaks_to_whom_it_concerns():
    # A guardian is told of their children's names too; a pupil only of their own.
    [guardian] = check_password_policy("Romane2010x", names=["Romane"])
    [pupil] = check_password_policy("Romane2010x", names=["Romane"], pupil=True)
    assert guardian.code == pupil.code == "password_name"
    assert "enfants" in guardian.message and pupil.message == PUPIL_NAME_MESSAGE
    assert "enfant" not in pupil.message


# -- birthdates -------------------------------------------------------------

BIRTHDATE = datetime.date(2012, 3, 15)


@pytest.mark.parametrize(
    "password",
    [
        "15032012ab",  # DDMMYYYY
        "ab150312cd",  # DDMMYY
        "x20120315y",  # YYYYMMDD
        "ab120315cd",  # YYMMDD
        "ab15-03-2012",  # separators are ignored (and refused by the characters rule)
    ],
)
def test_birthdate_refused(password):
    assert "password_birthdate" in codes(password, birthdates=[BIRTHDATE])


@pytest.mark.parametrize("password", ["15032013ab", "ab150412cd", "Secret2012", "ab1503cd99"])
def test_birthdate_accepted(password):
    assert "password_birthdate" not in codes(password, birthdates=[BIRTHDATE])


def test_birthdate_single_digit_day_and_month():
    date = datetime.date(2010, 1, 5)
    assert "password_birthdate" in codes("ab05012010", birthdates=[date])
    assert "password_birthdate" in codes("ab100105cd", birthdates=[date])
    assert "password_birthdate" not in codes("ab05012011", birthdates=[date])


def test_any_of_several_birthdates():
    dates = [datetime.date(1980, 7, 1), BIRTHDATE]
    assert "password_birthdate" in codes("15032012ab", birthdates=dates)
    assert "password_birthdate" in codes("ab01071980", birthdates=dates)
    assert "password_birthdate" not in codes("ab01071981", birthdates=dates)


def test_full_context_accepts_a_good_password():
    assert (
        check_password_policy(
            "Tulipe7Rouge",
            identifier="m.dupont12",
            names=["Marie", "Dupont", "Élodie", "Jean-Pierre"],
            birthdates=[BIRTHDATE, datetime.date(1980, 7, 1)],
        )
        == []
    )


# -- properties -------------------------------------------------------------

ALNUM = string.ascii_letters + string.digits


@given(
    st.text(alphabet=ALNUM, min_size=PASSWORD_MIN_LENGTH, max_size=PASSWORD_MAX_LENGTH).filter(
        lambda p: any(c.isdigit() for c in p) and any(c.isalpha() for c in p)
    )
)
def test_property_valid_passwords_pass(password):
    assert check_password_policy(password) == []


@given(
    st.text(alphabet=ALNUM, max_size=10),
    st.characters().filter(lambda c: c not in ALNUM),
    st.text(alphabet=ALNUM, max_size=10),
    st.text(max_size=5),
)
def test_property_foreign_character_refused(before, bad, after, tail):
    assert "password_characters" in codes(before + bad + after + tail)


@given(
    st.one_of(
        st.text(alphabet=ALNUM, max_size=PASSWORD_MIN_LENGTH - 1),
        st.text(alphabet=ALNUM, min_size=PASSWORD_MAX_LENGTH + 1, max_size=60),
        st.text(max_size=PASSWORD_MIN_LENGTH - 1),
        st.text(min_size=PASSWORD_MAX_LENGTH + 1, max_size=60),
    )
)
def test_property_bad_length_refused(password):
    assert "password_length" in codes(password)


@settings(max_examples=50)
@given(st.integers(min_value=PASSWORD_MIN_LENGTH, max_value=PASSWORD_MAX_LENGTH))
def test_property_good_length_not_refused_for_length(length):
    assert "password_length" not in codes("a1" * (length // 2) + "b" * (length % 2))


def test_provisional_passwords_always_pass():
    ambiguous = set("0Oo1lI")
    seen = set()
    for _ in range(3000):
        password = generate_provisional_password()
        assert check_password_policy(password) == [], password
        assert len(password) == 10
        assert not ambiguous & set(password)
        assert sum(c.isdigit() for c in password) >= 2
        assert sum(c.isalpha() for c in password) >= 2
        seen.add(password)
    assert len(seen) == 3000
