"""New provisional credentials issued by staff (DESIGN §2, FAQ 2.2).

One workflow per request, id `credentials-reissue/<reissue-id>`. A school
secretary (or académie support) asked for new provisional credentials for an
account of their scope (the notification was lost, the credentials expired,
the account is locked, or a pupil without a confirmed email forgot the
password), or for the first credentials of a guardian of the school records
who has no account. The API checked the scope and wrote the request. Then:

1. provisional credentials are issued (valid 3 months; the account is created
   for a guardian who had none) and everything older ones opened stops
   working; they go out by the school's notification email or as a letter to
   print, in one activity (the password never enters Temporal). An account
   activated meanwhile is refused;
2. an activation started with the old credentials is ended (cancelled), so
   that it sends no reminder and cannot complete; the person starts again
   with the new credentials.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP, SCHOOL_UAI
from workflows.steps.activity_options import activity_options
from workflows.steps.external import cancel_if_running

with workflow.unsafe.imports_passed_through():
    from activities.reissue import ReissueActivities
    from educonnect.models.reissue import (
        CHANNEL_LABELS,
        STEP_LABELS,
        ReissueInput,
        ReissueRef,
        ReissueResult,
        ReissueStep,
    )

ACTIVITY_OPTIONS = activity_options(timedelta(seconds=60))


def workflow_id(reissue_id) -> str:
    return f"credentials-reissue/{reissue_id}"


def summary(uai: str) -> str:
    return f"Nouveaux identifiants provisoires remis par l'établissement {uai}"


@workflow.defn(name="CredentialsReissue")
class CredentialsReissueWorkflow:
    @workflow.init
    def __init__(self, params: ReissueInput) -> None:
        self._params = params
        self._result = ReissueResult(step=ReissueStep.ISSUING, account_id=params.account_id)

    @workflow.run
    async def run(self, params: ReissueInput) -> ReissueResult:
        self._enter(ReissueStep.ISSUING)
        outcome = await workflow.execute_activity_method(
            ReissueActivities.issue_credentials,
            ReissueRef(reissue_id=params.reissue_id),
            summary="Réédition des identifiants provisoires",
            **ACTIVITY_OPTIONS,
        )
        self._result.account_id = outcome.account_id
        if outcome.refusal is not None:
            self._result.refusal = outcome.refusal
            return self._finish(ReissueStep.REFUSED)
        self._result.channel, self._result.created = outcome.channel, outcome.created

        if outcome.was_activating:
            self._enter(ReissueStep.ENDING_ACTIVATION)
            process = "pupil-activation" if outcome.kind == "pupil" else "activation"
            await cancel_if_running(f"{process}/{outcome.account_id}")
        return self._finish(ReissueStep.DONE)

    @workflow.query
    def status(self) -> ReissueResult:
        return self._result

    def _finish(self, step: ReissueStep) -> ReissueResult:
        self._enter(step)
        return self._result

    def _enter(self, step: ReissueStep) -> None:
        self._result.step = step
        attributes: list[SearchAttributeUpdate] = [
            PROCESS_STEP.value_set(step.value),
            SCHOOL_UAI.value_set([self._params.uai]),
        ]
        if self._result.account_id is not None:
            attributes.append(ACCOUNT_ID.value_set(str(self._result.account_id)))
        workflow.upsert_search_attributes(attributes)
        details = f"**{STEP_LABELS[step]}**"
        if self._result.created:
            details += "\n\nCompte créé pour un responsable qui n'en avait pas"
        if self._result.channel:
            details += f"\n\nRemis {CHANNEL_LABELS[self._result.channel]}"
        if self._result.refusal:
            details += f"\n\nRefus : {self._result.refusal.value}"
        workflow.set_current_details(details)
