"""The online services the portal lists for each child (DESIGN §3.5, FAQ 1 and 3).

One explicit table: which service is open to whom (guardian or pupil), in
which kind of school, at which levels. FAQ 1: guardians reach the Livret
Scolaire Unique, the ENT and the académie's téléservices for each child;
second-degree pupils reach the ENT of their school.

| code                   | name (French)                     | for                | schools                | levels        |
|------------------------|-----------------------------------|--------------------|------------------------|---------------|
| ent                    | Espace numérique de travail (ENT) | guardian and pupil | école, collège, lycée  | all           |
| lsu                    | Livret scolaire unique (LSU)      | guardian           | école, collège         | all           |
| fiche_renseignements   | Fiche de renseignements           | guardian           | collège, lycée         | all           |
| bourses                | Bourses                           | guardian           | collège, lycée         | all           |
| orientation            | Orientation                       | guardian           | collège, lycée         | 3e, 2nde, 1re, Tle |
| paiement_factures      | Paiement des factures             | guardian           | collège, lycée         | all           |

The four last ones are the "Scolarité services" téléservices of secondary
schools. Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

GUARDIAN, PUPIL = "guardian", "pupil"
ECOLE, COLLEGE, LYCEE = "ecole", "college", "lycee"


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    description: str
    category: str  # "ent" | "livret" | "teleservice"
    audiences: frozenset[str]  # GUARDIAN and/or PUPIL
    school_kinds: frozenset[str]  # ECOLE, COLLEGE, LYCEE
    levels: frozenset[str] | None = None  # None: every level of those schools


SERVICES: tuple[Service, ...] = (
    Service(
        "ent",
        "Espace numérique de travail (ENT)",
        "Cahier de textes, emploi du temps, messagerie et ressources de l'établissement.",
        "ent",
        frozenset({GUARDIAN, PUPIL}),
        frozenset({ECOLE, COLLEGE, LYCEE}),
    ),
    Service(
        "lsu",
        "Livret scolaire unique (LSU)",
        "Bilans périodiques et de fin de cycle, attestations, de l'école au collège.",
        "livret",
        frozenset({GUARDIAN}),
        frozenset({ECOLE, COLLEGE}),
    ),
    Service(
        "fiche_renseignements",
        "Fiche de renseignements",
        "Vérifier et mettre à jour les informations administratives de l'élève et de ses responsables.",
        "teleservice",
        frozenset({GUARDIAN}),
        frozenset({COLLEGE, LYCEE}),
    ),
    Service(
        "bourses",
        "Bourses",
        "Faire une demande de bourse de collège ou de lycée et en suivre l'avancement.",
        "teleservice",
        frozenset({GUARDIAN}),
        frozenset({COLLEGE, LYCEE}),
    ),
    Service(
        "orientation",
        "Orientation",
        "Formuler les intentions puis les choix d'orientation et consulter les avis du conseil de classe.",
        "teleservice",
        frozenset({GUARDIAN}),
        frozenset({COLLEGE, LYCEE}),
        frozenset({"3e", "2nde", "1re", "Tle"}),
    ),
    Service(
        "paiement_factures",
        "Paiement des factures",
        "Consulter et payer en ligne les factures de restauration et d'hébergement.",
        "teleservice",
        frozenset({GUARDIAN}),
        frozenset({COLLEGE, LYCEE}),
    ),
)


def services_for(audience: str, school_kind: str, level: str) -> list[Service]:
    """The services open to `audience` (GUARDIAN or PUPIL) for a child of this
    kind of school and level, in the table's order."""
    return [
        s
        for s in SERVICES
        if audience in s.audiences
        and school_kind in s.school_kinds
        and (s.levels is None or level in s.levels)
    ]
