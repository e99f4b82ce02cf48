"""Lost identifier, "Identifiant perdu" (DESIGN §3.6, FAQ 4).

One short workflow per request, id `identifier-recovery/<uuid>`. The person
typed an email address or a mobile number; the API answered the same thing
whether or not it belongs to an account, then started this workflow, which
sends the identifier(s) of the accounts with this validated address (or this
verified number) there — by email or by SMS, at most once — or nothing.
"""

from __future__ import annotations

from temporalio import workflow

from educonnect.models.recovery import (
    IDENTIFIER_RECOVERY_LABELS,
    IdentifierRecoveryInput,
    IdentifierRecoveryStatus,
    IdentifierRecoveryStep,
    IdentifierReminder,
    RecoveryChannel,
)
from educonnect.search_attributes import PROCESS_STEP
from workflows.steps.activity_options import ACTIVITY_OPTIONS

with workflow.unsafe.imports_passed_through():
    from activities.account_management import AccountManagementActivities


SUMMARY = {
    RecoveryChannel.EMAIL: "Identifiant perdu : envoi par courriel",
    RecoveryChannel.SMS: "Identifiant perdu : envoi par SMS",
}


def workflow_id(request_id) -> str:
    return f"identifier-recovery/{request_id}"


@workflow.defn(name="IdentifierRecovery")
class IdentifierRecoveryWorkflow:
    @workflow.init
    def __init__(self, params: IdentifierRecoveryInput) -> None:
        self._params = params
        self._step = IdentifierRecoveryStep.SENDING
        self._matched: int | None = None

    @workflow.run
    async def run(self, params: IdentifierRecoveryInput) -> IdentifierRecoveryStatus:
        self._enter(IdentifierRecoveryStep.SENDING)
        self._matched = await workflow.execute_activity_method(
            AccountManagementActivities.send_identifier_reminder,
            IdentifierReminder(
                process_id=workflow.info().workflow_id,
                channel=params.channel,
                contact=params.contact,
            ),
            summary="Envoi du rappel d'identifiant",
            **ACTIVITY_OPTIONS,
        )
        self._enter(
            IdentifierRecoveryStep.SENT if self._matched else IdentifierRecoveryStep.NO_MATCH
        )
        return self.status()

    @workflow.query
    def status(self) -> IdentifierRecoveryStatus:
        return IdentifierRecoveryStatus(
            step=self._step, step_label=IDENTIFIER_RECOVERY_LABELS[self._step]
        )

    def _enter(self, step: IdentifierRecoveryStep) -> None:
        self._step = step
        workflow.upsert_search_attributes([PROCESS_STEP.value_set(step.value)])
        way = "courriel" if self._params.channel == RecoveryChannel.EMAIL else "SMS"
        details = (
            f"**{IDENTIFIER_RECOVERY_LABELS[step]}**\n\nDemande par {way} : {self._params.contact}"
        )
        if self._matched:
            details += f"\n\nComptes trouvés : {self._matched}"
        workflow.set_current_details(details)
