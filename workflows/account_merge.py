"""Account merge, "regroupement de comptes" (DESIGN §3.10, FAQ 12-13).

One workflow per kept account, id `account-merge/<kept-account-id>`. Signed in
recently with the account to keep, the guardian gave the identifier and
password of the other account; the API checked them (under the other
account's sign-in limits) and wrote the request. Then:

1. the two accounts are checked: same person (last and first names, accents
   and case aside), both guardian accounts, not the same one, not merged;
   otherwise the merge is refused with a French reason;
2. in one transaction the other account's children move to the kept one and
   the other account is closed ('merged': it cannot sign in, and a sign-in
   attempt names the identifier to use now); its activation, if one was
   running, is cancelled;
3. both email addresses are told.
Running the same request again changes nothing more.
"""

from __future__ import annotations

from temporalio import workflow

from educonnect.search_attributes import ACCOUNT_ID, PROCESS_STEP
from workflows.steps.activity_options import ACTIVITY_OPTIONS
from workflows.steps.external import cancel_if_running

with workflow.unsafe.imports_passed_through():
    from activities.merge import MergeActivities
    from educonnect.models.merge import (
        STEP_LABELS,
        MergeInput,
        MergeRef,
        MergeResult,
        MergeStatus,
        MergeStep,
    )


def workflow_id(kept_account_id) -> str:
    return f"account-merge/{kept_account_id}"


@workflow.defn(name="AccountMerge")
class AccountMergeWorkflow:
    @workflow.init
    def __init__(self, params: MergeInput) -> None:
        self._params = params
        self._step = MergeStep.CHECKING
        self._result = MergeResult(step=MergeStep.CHECKING)

    @workflow.run
    async def run(self, params: MergeInput) -> MergeResult:
        ref = MergeRef(merge_id=params.merge_id)
        self._enter(MergeStep.CHECKING)
        check = await workflow.execute_activity_method(
            MergeActivities.check_merge,
            ref,
            summary="Vérification des deux comptes à fusionner",
            **ACTIVITY_OPTIONS,
        )
        self._result.kept_identifier, self._result.other_identifier = (
            check.kept_identifier,
            check.other_identifier,
        )
        if check.refusal is not None:
            await workflow.execute_activity_method(
                MergeActivities.record_refusal,
                ref,
                summary="Fusion refusée : refus enregistré",
                **ACTIVITY_OPTIONS,
            )
            self._result.refusal = check.refusal
            return self._finish(MergeStep.REFUSED)

        self._enter(MergeStep.MOVING_CHILDREN)
        outcome = await workflow.execute_activity_method(
            MergeActivities.merge_accounts,
            ref,
            summary="Fusion des comptes : rattachement des enfants",
            **ACTIVITY_OPTIONS,
        )
        self._result.children_moved = outcome.children_moved
        if outcome.activation_started:
            await self._cancel_activation_of_the_other_account()

        self._enter(MergeStep.NOTIFYING)
        await workflow.execute_activity_method(
            MergeActivities.notify_merge,
            ref,
            summary="Avis de fusion au responsable",
            **ACTIVITY_OPTIONS,
        )
        return self._finish(MergeStep.MERGED)

    @workflow.query
    def status(self) -> MergeStatus:
        return MergeStatus(
            step=self._step,
            step_label=STEP_LABELS[self._step],
            merge_id=self._params.merge_id,
            refusal=self._result.refusal,
            children_moved=self._result.children_moved,
        )

    async def _cancel_activation_of_the_other_account(self) -> None:
        """A provisional account may have an activation waiting on a link: a
        merged account must not become active."""
        await cancel_if_running(f"activation/{self._params.other_account_id}")

    def _finish(self, step: MergeStep) -> MergeResult:
        self._enter(step)
        self._result.step = step
        return self._result

    def _enter(self, step: MergeStep) -> None:
        self._step = step
        workflow.upsert_search_attributes(
            [
                PROCESS_STEP.value_set(step.value),
                ACCOUNT_ID.value_set(str(self._params.kept_account_id)),
            ]
        )
        details = f"**{STEP_LABELS[step]}**"
        if self._result.kept_identifier:
            details += f"\n\nCompte conservé : {self._result.kept_identifier} ; autre compte : {self._result.other_identifier}"
        if step == MergeStep.MERGED:
            details += f"\n\nEnfants rattachés au compte conservé : {self._result.children_moved}"
        if step == MergeStep.REFUSED and self._result.refusal:
            details += f"\n\nMotif : {self._result.refusal.value}"
        workflow.set_current_details(details)
