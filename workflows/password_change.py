"""Password change, "Modifier mon mot de passe" (DESIGN §3.9, FAQ 10).

One short workflow per change, id `password-change/<uuid>`. The API checked
the current password (recent sign-in, sign-in limits) and the new one (policy,
confirmation) and stored the new hash in `pending_passwords`; then:

1. the new password becomes the account's (it is asked at the next sign-in)
   and every other session of the account ends — the update `applied`
   answers the person as soon as this is done;
2. a notification goes to the validated address (or the verified number).
"""

from __future__ import annotations

from temporalio import workflow

from educonnect.models.recovery import (
    PASSWORD_CHANGE_LABELS,
    ApplyPasswordChange,
    PasswordApplied,
    PasswordChangeInput,
    PasswordChangeResult,
    PasswordChangeStatus,
    PasswordChangeStep,
    PasswordNotice,
    PasswordNoticeKind,
    WaitApplied,
)
from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP
from workflows.steps.activity_options import ACTIVITY_OPTIONS

with workflow.unsafe.imports_passed_through():
    from activities.account_management import AccountManagementActivities


def workflow_id(change_id) -> str:
    return f"password-change/{change_id}"


def summary(identifier: str) -> str:
    return f"Modification du mot de passe du compte {identifier}"


@workflow.defn(name="PasswordChange")
class PasswordChangeWorkflow:
    @workflow.init
    def __init__(self, params: PasswordChangeInput) -> None:
        self._params = params
        self._step = PasswordChangeStep.APPLYING
        self._applied: PasswordApplied | None = None

    @workflow.run
    async def run(self, params: PasswordChangeInput) -> PasswordChangeResult:
        self._enter(PasswordChangeStep.APPLYING)
        self._applied = await workflow.execute_activity_method(
            AccountManagementActivities.apply_new_password,
            ApplyPasswordChange(
                account_id=params.account_id,
                process_id=workflow.info().workflow_id,
                kind=PasswordNoticeKind.CHANGED,
                keep_session_id=params.keep_session_id,
            ),
            summary="Enregistrement du nouveau mot de passe",
            **ACTIVITY_OPTIONS,
        )
        self._enter(PasswordChangeStep.NOTIFYING)
        await workflow.execute_activity_method(
            AccountManagementActivities.send_password_notice,
            PasswordNotice(
                account_id=params.account_id,
                process_id=workflow.info().workflow_id,
                step="changed-notice",
                kind=PasswordNoticeKind.CHANGED,
            ),
            summary="Avis de changement de mot de passe",
            **ACTIVITY_OPTIONS,
        )
        self._enter(PasswordChangeStep.COMPLETED)
        await workflow.wait_condition(workflow.all_handlers_finished)
        assert self._applied is not None  # set above, before the notice
        return PasswordChangeResult(sessions_ended=self._applied.sessions_ended)

    @workflow.update
    async def applied(self, request: WaitApplied) -> PasswordApplied:
        """Answers once the new password is in force (the notice may still be on its way)."""
        await workflow.wait_condition(lambda: self._applied is not None)
        assert self._applied is not None
        return self._applied

    @workflow.query
    def status(self) -> PasswordChangeStatus:
        return PasswordChangeStatus(
            step=self._step,
            step_label=PASSWORD_CHANGE_LABELS[self._step],
            sessions_ended=self._applied.sessions_ended if self._applied else None,
        )

    def _enter(self, step: PasswordChangeStep) -> None:
        self._step = step
        workflow.upsert_search_attributes(
            [PROCESS_STEP.value_set(step.value), ACCOUNT_ID.value_set(str(self._params.account_id))]
        )
        details = f"**{PASSWORD_CHANGE_LABELS[step]}**\n\nCompte : {self._params.identifier}"
        if self._applied is not None:
            details += f"\n\nAutres sessions fermées : {self._applied.sessions_ended}"
        workflow.set_current_details(details)
