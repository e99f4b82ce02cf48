"""Emails of school provisioning (DESIGN §3.1 and §3.11, FAQ 2.2).

The school's notification email gives a guardian the identifier, the
provisional password and the children attached to the account, and explains
how to activate it.
"""

from __future__ import annotations

from datetime import date

from educonnect.emails import Email
from educonnect.french_dates import french_date

CREATED_INTRO = "L'établissement scolaire de votre enfant vous a créé un compte EduConnect."
REISSUED_INTRO = (
    "L'établissement scolaire de votre enfant vous remet de nouveaux identifiants provisoires pour votre compte "
    "EduConnect ; les identifiants précédents ne fonctionnent plus."
)


def account_notification(
    *,
    to: str,
    guardian_first_name: str,
    guardian_last_name: str,
    identifier: str,
    provisional_password: str,
    children: list[tuple[str, str, str]],
    valid_until: date,
    activation_url: str,
    reissued: bool = False,
) -> Email:
    """The school's notification email (FAQ 2.2).

    `children` holds (first name, last name, school name) for each child
    attached to the account. `reissued`: new provisional credentials issued by
    the school for an existing account (the earlier ones no longer work).
    """
    if children:
        if len(children) == 1:
            children_intro = "L'enfant rattaché à ce compte :"
        else:
            children_intro = "Les enfants rattachés à ce compte :"
        children_lines = "\n".join(
            f"  - {first} {last} ({school})" for first, last, school in children
        )
        children_block = f"{children_intro}\n{children_lines}\n\n"
    else:
        children_block = ""

    until = french_date(valid_until)
    intro = REISSUED_INTRO if reissued else CREATED_INTRO
    text = f"""Bonjour {guardian_first_name} {guardian_last_name},

{intro} Ce compte unique vous donne accès aux services en ligne de la scolarité de vos enfants (espace numérique de travail, Livret Scolaire Unique, téléservices).

Voici les informations de votre compte :

  Identifiant : {identifier}
  Mot de passe provisoire : {provisional_password}

{children_block}Ces identifiants sont valables 3 mois, jusqu'au {until} inclus. Votre compte doit être activé avant cette date pour accéder aux services.

Pour activer votre compte :
  1. Rendez-vous sur l'écran d'authentification d'EduConnect : {activation_url}
  2. Saisissez l'identifiant et le mot de passe provisoire ci-dessus.
  3. Cliquez sur le bouton « Gérer mon compte », puis choisissez votre mot de passe, saisissez votre adresse électronique et la date de naissance de l'un de vos enfants.
  4. Validez en cliquant sur le bouton « Activer votre compte ».
  5. Un courriel de confirmation vous est alors envoyé : cliquez sur le lien qu'il contient pour terminer l'activation. Si vous ne le trouvez pas, vérifiez vos dossiers « Courriers indésirables » ou « Spam ».

Votre nouveau mot de passe doit comporter de 8 à 14 caractères, uniquement des lettres non accentuées et des chiffres, avec au moins une lettre et un chiffre.

Conservez votre identifiant : il vous sera demandé à chaque connexion. Le personnel de l'établissement ne vous demandera jamais votre mot de passe.

Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations distinguées.

Le chef d'établissement ou le directeur d'école

Ce courriel a été envoyé automatiquement, merci de ne pas y répondre.
"""
    return Email(
        to=to,
        subject="Vos identifiants EduConnect",
        text=text,
        sender_name="EduConnect",
        action="Se connecter à EduConnect",
    )
