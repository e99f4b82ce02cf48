"""School provisioning at la rentrée (DESIGN §3.11, FAQ 2.2 and 13).

One workflow per uploaded file, id `provisioning/<uai>/<import-id>`:

1. Every line of the file is checked; bad lines are reported (line number,
   French message), good lines go through.
2. Records, batch by batch: pupils (keyed by their identifier in the school),
   guardians (matched by names and mobile or email, so that a family known
   through another school keeps one record) and their links.
3. Accounts, batch by batch: a provisioned account for each guardian (and
   each collège or lycée pupil) who has none, notified once: the school's
   email with the identifier, the provisional password (valid 3 months) and
   the children attached, or a printable letter when there is no email.
   Guardians who already have an account simply get the child attached.

The file stays in PostgreSQL; the workflow carries the import id and row
ranges, and continues as new every few thousand rows. Importing the same file
again creates and sends nothing; a changed file updates the records and
notifies only the new accounts.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from educonnect.search_attributes import PROCESS_STEP, ROWS_DONE, ROWS_TOTAL, SCHOOL_UAI
from workflows.steps.activity_options import activity_options

with workflow.unsafe.imports_passed_through():
    from activities.provisioning import ProvisioningActivities

    # Passed through (pure pydantic models): the counts the activities return
    # must be the very classes the workflow's own models hold.
    from educonnect.models.provisioning import (
        STEP_LABELS,
        ImportRef,
        ProvisioningInput,
        ProvisioningProgress,
        ProvisioningResult,
        ProvisioningStatus,
        ProvisioningStep,
        RowRange,
    )

VALIDATE_OPTIONS = activity_options(timedelta(minutes=5))
# A batch heartbeats after every row or account: a crashed worker's batch is
# retried (idempotently) by another worker within the heartbeat timeout.
BATCH_OPTIONS = activity_options(timedelta(minutes=30), heartbeat_timeout=timedelta(seconds=15))
FINISH_OPTIONS = activity_options(timedelta(minutes=1))


def workflow_id(uai: str, import_id) -> str:
    return f"provisioning/{uai}/{import_id}"


def _n(value: int) -> str:
    """1 200 (French thousands separator)."""
    return f"{value:,}".replace(",", "\u202f")


@workflow.defn(name="SchoolProvisioning")
class ProvisioningWorkflow:
    @workflow.init
    def __init__(self, params: ProvisioningInput) -> None:
        self._params = params
        self._progress = (
            params.progress.model_copy(deep=True) if params.progress else ProvisioningProgress()
        )
        self._batches_this_run = 0

    @workflow.run
    async def run(self, params: ProvisioningInput) -> ProvisioningResult:
        p = self._progress
        ref = ImportRef(import_id=params.import_id, uai=params.uai)
        self._enter(p.step)

        if p.step == ProvisioningStep.VALIDATING:
            summary = await workflow.execute_activity_method(
                ProvisioningActivities.validate_import,
                ref,
                summary="Validation du fichier importé",
                **VALIDATE_OPTIONS,
            )
            p.rows_total, p.rows_valid, p.rows_invalid = (
                summary.rows_total,
                summary.rows_valid,
                summary.rows_invalid,
            )
            self._enter(ProvisioningStep.RECORDS)

        while p.step == ProvisioningStep.RECORDS and p.records_done < p.rows_valid:
            batch = self._next_batch(p.records_done)
            result = await workflow.execute_activity_method(
                ProvisioningActivities.write_records,
                batch,
                summary=f"Fiches élèves et responsables : lignes {batch.start + 1} à {batch.end}",
                **BATCH_OPTIONS,
            )
            p.rows_invalid += result.row_errors
            p.records_done = batch.end
            self._after_batch()
        if p.step == ProvisioningStep.RECORDS:
            self._enter(ProvisioningStep.ACCOUNTS)

        while p.step == ProvisioningStep.ACCOUNTS and p.accounts_done < p.rows_valid:
            batch = self._next_batch(p.accounts_done)
            p.counts = await workflow.execute_activity_method(
                ProvisioningActivities.provision_accounts,
                batch,
                summary=f"Création des comptes : lignes {batch.start + 1} à {batch.end}",
                **BATCH_OPTIONS,
            )
            p.accounts_done = batch.end
            self._after_batch()

        p.counts = await workflow.execute_activity_method(
            ProvisioningActivities.finish_import,
            ref,
            summary="Fin de l'import : bilan",
            **FINISH_OPTIONS,
        )
        self._enter(ProvisioningStep.DONE)
        return ProvisioningResult(
            import_id=params.import_id,
            rows_total=p.rows_total,
            rows_valid=p.rows_valid,
            rows_invalid=p.rows_invalid,
            counts=p.counts,
        )

    @workflow.query
    def status(self) -> ProvisioningStatus:
        p = self._progress
        return ProvisioningStatus(
            import_id=self._params.import_id,
            uai=self._params.uai,
            step=p.step,
            step_label=STEP_LABELS[p.step],
            rows_total=p.rows_total,
            rows_valid=p.rows_valid,
            rows_invalid=p.rows_invalid,
            rows_done=p.accounts_done,
            records_done=p.records_done,
            accounts_done=p.accounts_done,
            runs=p.runs,
            counts=p.counts,
        )

    # --- helpers ----------------------------------------------------------------

    def _next_batch(self, start: int) -> RowRange:
        end = min(start + max(1, self._params.batch_size), self._progress.rows_valid)
        return RowRange(
            import_id=self._params.import_id, uai=self._params.uai, start=start, end=end
        )

    def _after_batch(self) -> None:
        """Progress for operators; continue as new when this run did enough."""
        self._batches_this_run += 1
        self._publish()
        p = self._progress
        more = (p.step == ProvisioningStep.RECORDS and p.records_done < p.rows_valid) or (
            p.step == ProvisioningStep.ACCOUNTS and p.accounts_done < p.rows_valid
        )
        if more and (
            self._batches_this_run >= self._params.batches_per_run
            or workflow.info().is_continue_as_new_suggested()
        ):
            p.runs += 1
            workflow.continue_as_new(self._params.model_copy(update={"progress": p}))

    def _enter(self, step: ProvisioningStep) -> None:
        self._progress.step = step
        self._publish()

    def _publish(self) -> None:
        p = self._progress
        workflow.upsert_search_attributes(
            [
                PROCESS_STEP.value_set(p.step.value),
                SCHOOL_UAI.value_set([self._params.uai]),
                ROWS_DONE.value_set(p.accounts_done),
                ROWS_TOTAL.value_set(p.rows_valid),
            ]
        )
        details = f"**{STEP_LABELS[p.step]}**\n\nÉtablissement {self._params.uai}"
        if self._params.filename:
            details += f", fichier « {self._params.filename} »"
        if p.step != ProvisioningStep.VALIDATING:
            details += (
                f"\n\nLignes : {_n(p.rows_total)} dont {_n(p.rows_invalid)} en erreur"
                f"\n\nFiches enregistrées : {_n(p.records_done)} / {_n(p.rows_valid)} lignes"
                f"\n\nComptes traités : {_n(p.accounts_done)} / {_n(p.rows_valid)} lignes"
            )
        c = p.counts
        if p.step in (ProvisioningStep.ACCOUNTS, ProvisioningStep.DONE):
            details += (
                f"\n\nComptes créés : {_n(c.guardian_accounts_created)} responsables, {_n(c.pupil_accounts_created)} "
                f"élèves ; courriels envoyés : {_n(c.emails_sent)} ; courriers à imprimer : {_n(c.letters_created)}"
            )
        if p.runs > 1:
            details += f"\n\n(exécution n° {p.runs} de l'import)"
        workflow.set_current_details(details)
