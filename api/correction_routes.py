"""The birthdate-correction routes of a blocked process (DESIGN §3.7): see
the children concerned, file a request, answer staff's questions.

SMS registration, the FranceConnect first visit and pupil activation each
add them under their own routes, with a dependency that checks their process
is blocked on a birthdate and says who asks (`Blocked`). The guardian's
activation keeps `/assistance/date-de-naissance`, where the person also
chooses how to be told.

No `from __future__ import annotations` here: FastAPI must see the local
`Who` dependency type of the routes, not its name."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, status

from api.correction_form import (
    AnswerBody,
    ChildCorrectionRequest,
    Contact,
    CorrectionForm,
    CorrectionReceipt,
    Requester,
    RequestView,
    answer_staff,
    correction_form,
    file_correction,
)
from api.deps import Pool, Temporal
from api.errors import ErrorBody

RequestId = Annotated[uuid.UUID, Path(description="Identifiant de la demande de correction")]
_REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    410: {"model": ErrorBody},
    422: {"model": ErrorBody},
}


@dataclass(frozen=True)
class Blocked:
    """A process blocked on a birthdate: who may file from it, and how they
    will hear of the decision."""

    requester: Requester
    contact: Contact


def add_correction_routes(
    router: APIRouter, path: str, blocked: Callable[..., Awaitable[Blocked]]
) -> None:
    """`GET path`, `POST path` and `POST path/{request_id}/answer` on `router`.
    `blocked` is a FastAPI dependency; it refuses when the process is not
    blocked on a birthdate, before anything about the person is read."""
    Who = Annotated[Blocked, Depends(blocked)]

    @router.get(
        path,
        summary="Demande de correction de date de naissance : les enfants concernés et vos demandes",
        response_model=CorrectionForm,
        responses=_REFUSALS,
    )
    async def correction_form_of_blocked_process(who: Who, pool: Pool) -> CorrectionForm:
        return await correction_form(pool, who.requester, contact=who.contact)

    @router.post(
        path,
        summary="Demander la correction d'une date de naissance (l'établissement décide)",
        status_code=status.HTTP_201_CREATED,
        response_model=CorrectionReceipt,
        responses=_REFUSALS,
    )
    async def file_correction_from_blocked_process(
        body: ChildCorrectionRequest, who: Who, pool: Pool, temporal: Temporal
    ) -> CorrectionReceipt:
        return await file_correction(
            pool, temporal, who.requester, body.pupil_id, body, who.contact
        )

    @router.post(
        f"{path}/{{request_id}}/answer",
        summary="Répondre à une demande d'informations de l'établissement",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=RequestView,
        responses=_REFUSALS,
    )
    async def answer_staff_from_blocked_process(
        request_id: RequestId, body: AnswerBody, who: Who, pool: Pool, temporal: Temporal
    ) -> RequestView:
        return await answer_staff(pool, temporal, request_id, who.requester.process_id, body)
