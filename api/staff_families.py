"""Families' accounts as staff handle them (DESIGN §2), for the JSON API
(`api.routers.staff_accounts`) and the staff pages (`api.web.staff.families`):
find the pupils of the member's scope by a pupil's or a guardian's name, with
the accounts of both; issue new provisional credentials (workflow
`credentials-reissue/<id>`), by the school's notification email or as a
letter to print; create the account of a guardian who has none; read what a
request became and its letter. Out of scope answers like unknown (staff learn
nothing about other schools' families); every issue, refusal and letter
download is audited.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, Field
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy

from api.deps import refuse_audited
from educonnect import audit, family_accounts, reissue, reissue_requests
from educonnect.errors import MESSAGES, DomainError, ErrorCode
from educonnect.identifiers import fold_text
from educonnect.models.reissue import ReissueInput, ReissueResult, ReissueStep
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP, SCHOOL_UAI
from educonnect.settings import get_settings
from educonnect.staff import StaffMember
from workflows.credentials_reissue import CredentialsReissueWorkflow, summary, workflow_id

SEARCH_LIMIT = 50
_SEARCHABLE = re.compile(r"[^a-z0-9' -]")
RESULT_WAIT_S = 20.0
STATE_LABELS = {
    "provisioned": "Identifiants provisoires remis, compte non activé",
    "activating": "Activation en cours",
    "active": "Compte activé",
    "locked": "Compte bloqué (trop d'essais de connexion)",
    "merged": "Compte regroupé avec un autre compte",
}


class AccountView(BaseModel):
    account_id: uuid.UUID
    identifier: str
    kind: str
    state: str
    state_label: str
    email: str | None = None
    email_confirmed: bool
    provisional_expires_at: datetime | None = None
    can_reissue: bool
    reissue_refusal: str | None = None  # French, when new credentials cannot be issued


class PersonView(BaseModel):
    last_name: str
    first_name: str
    account: AccountView | None = None


class GuardianView(PersonView):
    guardian_id: uuid.UUID
    can_create_account: bool  # no account yet: staff can create it (first provisional credentials)


class PupilView(PersonView):
    pupil_id: uuid.UUID
    uai: str
    class_name: str
    guardians: list[GuardianView]


class ReissueBody(BaseModel):
    canal: Literal["auto", "courrier"] = Field(
        "auto",
        description="« auto » : par courriel à l'adresse donnée par l'établissement quand il y en a une, sinon "
        "courrier ; « courrier » : toujours un courrier à imprimer (la personne est à l'accueil).",
    )


class ReissueView(BaseModel):
    reissue_id: uuid.UUID
    workflow_id: str
    step: ReissueStep
    account_id: uuid.UUID | None = None
    created: bool = False  # the guardian's account was created by this request
    channel: str | None = None
    letter_url: str | None = None
    message: str


# --- finding accounts ------------------------------------------------------------------------


def _account_view(row: asyncpg.Record | None) -> AccountView | None:
    if row is None:
        return None
    code = reissue.refusal(row)
    return AccountView(
        account_id=row["id"],
        identifier=row["identifier"],
        kind=row["kind"],
        state=row["state"],
        state_label=STATE_LABELS[row["state"]],
        email=row["email"],
        email_confirmed=row["email_verified_at"] is not None,
        provisional_expires_at=row["provisional_expires_at"],
        can_reissue=code is None,
        reissue_refusal=MESSAGES[code] if code else None,
    )


async def search(pool: asyncpg.Pool, member: StaffMember, nom: str) -> list[PupilView]:
    """The pupils of the member's scope (SEARCH_LIMIT at most) whose name, or
    a guardian's, has a word starting with `nom` (accents and case aside)."""
    wanted = " ".join(_SEARCHABLE.sub(" ", fold_text(nom)).split())
    if len(wanted) < 2:
        raise DomainError(
            ErrorCode.INVALID_INPUT, [{"field": "nom", "message": "Saisissez au moins 2 lettres."}]
        )
    # The start of a word of a name (wanted holds only letters, digits, spaces, hyphens, apostrophes).
    word_start = "(^|[ '-])" + wanted
    pupils = await family_accounts.pupils_matching(pool, member, word_start, SEARCH_LIMIT)
    links = await family_accounts.guardians_of(pool, [p["id"] for p in pupils])
    accounts = await family_accounts.accounts_of(
        pool, [p["id"] for p in pupils], [link["id"] for link in links]
    )
    by_owner = {a["pupil_id"] or a["guardian_id"]: a for a in accounts}
    await audit.record(
        pool,
        member.actor,
        "staff.accounts_search",
        "search",
        wanted,
        details={"results": len(pupils)},
    )
    return [
        PupilView(
            pupil_id=p["id"],
            last_name=p["last_name"],
            first_name=p["first_name"],
            uai=p["uai"],
            class_name=p["class_name"],
            account=_account_view(by_owner.get(p["id"])),
            guardians=[
                GuardianView(
                    guardian_id=g["id"],
                    last_name=g["last_name"],
                    first_name=g["first_name"],
                    account=_account_view(by_owner.get(g["id"])),
                    can_create_account=g["id"] not in by_owner,
                )  # fmt: skip
                for g in links
                if g["pupil_id"] == p["id"]
            ],
        )
        for p in pupils
    ]


# --- new provisional credentials -------------------------------------------------------------


async def _school_in_scope(
    pool: asyncpg.Pool,
    member: StaffMember,
    *,
    pupil_id: uuid.UUID | None,
    guardian_id: uuid.UUID | None,
) -> str | None:
    """The school of the member's scope that hands out the credentials: the
    pupil's school, or the school of one of the guardian's children."""
    schools = await family_accounts.schools_of(pool, pupil_id=pupil_id, guardian_id=guardian_id)
    in_scope = [s["uai"] for s in schools if member.covers(s["uai"], s["academie"])]
    return in_scope[0] if in_scope else None


async def _account_school_in_scope(
    pool: asyncpg.Pool, member: StaffMember, account_id: uuid.UUID
) -> tuple[asyncpg.Record, str]:
    account = await family_accounts.account(pool, account_id)
    uai = None
    if account is not None:
        uai = await _school_in_scope(
            pool, member, pupil_id=account["pupil_id"], guardian_id=account["guardian_id"]
        )
    if uai is None:
        # Out of scope answers like unknown: staff learn nothing about other schools' families.
        await refuse_audited(
            pool,
            member,
            "account.credentials_reissue",
            "account",
            account_id,
            ErrorCode.STAFF_ACCOUNT_NOT_FOUND,
        )
    assert uai is not None  # refuse_audited raised
    return account, uai


def _message(result: ReissueResult, email: str | None) -> str:
    if result.step == ReissueStep.REFUSED and result.refusal:
        return MESSAGES[result.refusal]
    what = (
        "Le compte est créé et ses identifiants provisoires"
        if result.created
        else "Les nouveaux identifiants provisoires"
    )
    if result.channel == "email":
        return f"{what} ont été envoyés par courriel à {email}. Ils sont valables 3 mois." + (
            "" if result.created else " Les anciens ne fonctionnent plus."
        )
    if result.channel == "letter":
        return (
            f"{what} sont prêts : imprimez le courrier et remettez-le à la personne en main propre. "
            "Ils sont valables 3 mois."
            + ("" if result.created else " Les anciens ne fonctionnent plus.")
        )
    return "La remise des identifiants est en cours ; actualisez la page dans quelques instants."


def _view(reissue_id: uuid.UUID, result: ReissueResult, email: str | None) -> ReissueView:
    letter = (
        f"/staff/credential-reissues/{reissue_id}/letter.pdf"
        if result.channel == "letter"
        else None
    )
    return ReissueView(
        reissue_id=reissue_id,
        workflow_id=workflow_id(reissue_id),
        step=result.step,
        account_id=result.account_id,
        created=result.created,
        channel=result.channel,
        letter_url=letter,
        message=_message(result, email),
    )


async def _issue(
    pool: asyncpg.Pool, temporal, member: StaffMember, uai: str, body: ReissueBody | None, *,
    account_id: uuid.UUID | None = None, guardian_id: uuid.UUID | None = None,
) -> tuple[uuid.UUID, ReissueResult]:  # fmt: skip
    """Write the request, start its workflow and wait (a little) for its result."""
    reissue_id = uuid.uuid4()
    await reissue_requests.record_request(
        pool,
        reissue_id,
        member,
        uai,
        "letter" if body is not None and body.canal == "courrier" else "auto",
        account_id=account_id,
        guardian_id=guardian_id,
    )
    attributes: list[SearchAttributePair[Any]] = [
        SearchAttributePair(PROCESS_STEP, ReissueStep.ISSUING.value),
        SearchAttributePair(SCHOOL_UAI, [uai]),
    ]
    if account_id is not None:
        attributes.append(SearchAttributePair(ACCOUNT_ID, str(account_id)))
    handle = await temporal.start_workflow(
        CredentialsReissueWorkflow.run,
        ReissueInput(
            reissue_id=reissue_id, uai=uai, account_id=account_id, guardian_id=guardian_id
        ),
        id=workflow_id(reissue_id),
        task_queue=get_settings().task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=TypedSearchAttributes(attributes),
        static_summary=summary(uai),
    )
    try:
        result = await asyncio.wait_for(handle.result(), RESULT_WAIT_S)
    except TimeoutError:
        result = ReissueResult(step=ReissueStep.ISSUING, account_id=account_id)
    if result.step == ReissueStep.REFUSED and result.refusal:
        raise DomainError(result.refusal)
    return reissue_id, result


async def reissue_credentials(
    pool: asyncpg.Pool,
    temporal: Client,
    member: StaffMember,
    account_id: uuid.UUID,
    body: ReissueBody | None = None,
) -> ReissueView:
    """New provisional credentials for an account of the member's scope."""
    account, uai = await _account_school_in_scope(pool, member, account_id)
    code = reissue.refusal(account)
    if code is not None:
        await refuse_audited(
            pool, member, "account.credentials_reissue", "account", account_id, code
        )
    reissue_id, result = await _issue(pool, temporal, member, uai, body, account_id=account_id)
    return _view(reissue_id, result, account["email"])


async def create_guardian_account(
    pool: asyncpg.Pool,
    temporal: Client,
    member: StaffMember,
    guardian_id: uuid.UUID,
    body: ReissueBody | None = None,
) -> ReissueView:
    """The account (and first provisional credentials) of a guardian of the
    member's scope who has none."""
    uai = await _school_in_scope(pool, member, pupil_id=None, guardian_id=guardian_id)
    if uai is None:
        refusal: ErrorCode | None = ErrorCode.STAFF_GUARDIAN_NOT_FOUND
    elif await family_accounts.guardian_has_account(pool, guardian_id):
        refusal = ErrorCode.STAFF_ACCOUNT_EXISTS
    else:
        refusal = None
    if refusal is not None:
        await refuse_audited(pool, member, "account.staff_create", "guardian", guardian_id, refusal)
    assert uai is not None  # refuse_audited raised
    reissue_id, result = await _issue(pool, temporal, member, uai, body, guardian_id=guardian_id)
    email = await family_accounts.guardian_email(pool, guardian_id)
    return _view(reissue_id, result, email)


async def reissue_status(
    pool: asyncpg.Pool, member: StaffMember, reissue_id: uuid.UUID
) -> ReissueView:
    """What a request for credentials became (delivered, by which channel)."""
    row = await _reissue_in_scope(pool, member, reissue_id, "account.credentials_reissue_status")
    step = ReissueStep.DONE if row["delivered_at"] is not None else ReissueStep.ISSUING
    result = ReissueResult(
        step=step,
        channel=row["channel"],
        account_id=row["account_id"],
        created=row["guardian_id"] is not None,
    )
    return _view(reissue_id, result, row["email"])


async def reissue_letter(pool: asyncpg.Pool, member: StaffMember, reissue_id: uuid.UUID) -> bytes:
    """The request's letter (PDF); the download is audited."""
    action = "account.credentials_letter_download"
    row = await _reissue_in_scope(pool, member, reissue_id, action)
    if row["channel"] != "letter" or row["pdf"] is None:
        await refuse_audited(
            pool, member, action, "credential_reissue", reissue_id, ErrorCode.REISSUE_NO_LETTER
        )
    await reissue_requests.letter_downloaded(pool, reissue_id)
    await audit.record(pool, member.actor, action, "account", row["account_id"],
                       details={"reissue_id": str(reissue_id)})  # fmt: skip
    return bytes(row["pdf"])


def letter_filename(reissue_id: uuid.UUID) -> str:
    return f"identifiants-{reissue_id}.pdf"


async def _reissue_in_scope(
    pool: asyncpg.Pool, member: StaffMember, reissue_id: uuid.UUID, action: str
) -> asyncpg.Record:
    row = await reissue_requests.reissue(pool, reissue_id)
    if row is None:
        await refuse_audited(
            pool, member, action, "credential_reissue", reissue_id, ErrorCode.REISSUE_NOT_FOUND
        )
    if not member.covers(row["uai"], row["academie"]):
        # Another school's letter answers like an unknown one; the log keeps why.
        await refuse_audited(pool, member, action, "credential_reissue", reissue_id, ErrorCode.STAFF_OUT_OF_SCOPE,
                             ErrorCode.REISSUE_NOT_FOUND, uai=row["uai"])  # fmt: skip
    return row
