"""The processes a birthdate correction can unblock (DESIGN §3.7), and the
French words that name each one to staff and tell the person how to go on:
a guardian asks about a child's birthdate ("la date de naissance d'Inès"), a
pupil about their own ("votre date de naissance").

A correction request records the workflow id of each process it blocks
(`correction_participants.blocked_process_id`); its prefix is the kind."""

from __future__ import annotations

from dataclasses import dataclass

from educonnect import policies


@dataclass(frozen=True)
class BlockedProcess:
    label: str  # for staff: where the request comes from
    resume: str  # "vous pourrez alors reprendre …"
    how_to_resume: str  # once the record is corrected
    where_to_follow: str  # "suivez votre demande …" / "répondez …"
    school: str  # whom to contact otherwise
    own_birthdate: bool = (
        False  # the person asks about their own birthdate (a pupil), not a child's
    )

    def whose_birthdate(self, first_name: str) -> str:
        """The birthdate in question, as the person reads it."""
        if self.own_birthdate:
            return "votre date de naissance"
        return f"la date de naissance {of_first_name(first_name)}"


_VOWELS = frozenset("AEIOUÀÂÄÆÉÈÊËÎÏÔÖŒÙÛÜ")


def of_first_name(first_name: str) -> str:
    """The first name after "de", elided before a vowel sound: "de Zoé",
    "d'Inès", "d'Yves" but "de Yanis"."""
    initial, then = first_name[:1].upper(), first_name[1:2].upper()
    vowel = initial in _VOWELS or (initial in ("Y", "Ÿ") and bool(then) and then not in _VOWELS)
    return f"d'{first_name}" if vowel else f"de {first_name}"


_GUARDIAN_SCHOOL = "l'établissement de votre enfant"

KINDS: dict[str, BlockedProcess] = {
    "activation": BlockedProcess(
        label="Activation du compte d'un responsable",
        resume="l'activation de votre compte",
        how_to_resume=(
            "connectez-vous à EduConnect, cliquez sur « Gérer mon compte » et saisissez cette date de naissance."
        ),
        where_to_follow=(
            "en vous connectant à EduConnect avec les identifiants transmis par l'établissement, rubrique « Assistance »"
        ),
        school=_GUARDIAN_SCHOOL,
    ),
    "pupil-activation": BlockedProcess(
        label="Activation du compte élève (demande de l'élève lui-même)",
        resume="l'activation de votre compte élève",
        how_to_resume=(
            "connectez-vous à EduConnect avec les identifiants transmis par votre établissement "
            "et saisissez cette date de naissance."
        ),
        where_to_follow="en vous connectant à EduConnect avec les identifiants transmis par votre établissement",
        school="votre établissement",
        own_birthdate=True,
    ),
    "sms-registration": BlockedProcess(
        label="Inscription par SMS (« Je n'ai pas de compte »)",
        resume="votre inscription",
        how_to_resume=(
            f"revenez dans les {policies.REGISTRATION_RESUME_WINDOW.days} jours sur la page de votre inscription "
            "(« Je n'ai pas de compte »), sur l'appareil où vous l'avez commencée, et saisissez cette date de naissance."
        ),
        where_to_follow="depuis la page de votre inscription, sur l'appareil où vous l'avez commencée",
        school=_GUARDIAN_SCHOOL,
    ),
    "franceconnect-link": BlockedProcess(
        label="Première connexion avec FranceConnect",
        resume="votre première connexion avec FranceConnect",
        how_to_resume=(
            f"cliquez à nouveau dans les {policies.FRANCECONNECT_RESUME_WINDOW.days} jours sur "
            "« S'identifier avec FranceConnect » et saisissez cette date de naissance."
        ),
        where_to_follow="en cliquant à nouveau sur « S'identifier avec FranceConnect »",
        school=_GUARDIAN_SCHOOL,
    ),
}


def blocked_process(process_id: str) -> BlockedProcess:
    """What to call the process `process_id` (e.g. `sms-registration/<uuid>`)."""
    return KINDS.get(process_id.split("/", 1)[0], KINDS["activation"])
