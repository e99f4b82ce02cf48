"""Messages of school provisioning (DESIGN §3.11): ids, row ranges and counts.

The file itself stays in PostgreSQL (`provisioning_imports`), and so do the
provisional passwords: they are generated, hashed and sent inside one
activity, and never travel here.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel

DEFAULT_BATCH_SIZE = 200
# Batches (of either phase) per workflow run before continue-as-new: a run
# does about 2,000 rows of work (~70 history events), so a file of a few
# thousand rows already spans several runs and no history grows with the file.
DEFAULT_BATCHES_PER_RUN = 10


class ProvisioningStep(StrEnum):
    VALIDATING = "validating"  # every line of the file checked
    RECORDS = "records"  # pupils, guardians and links written
    ACCOUNTS = "accounts"  # accounts created, emails sent, letters made
    DONE = "done"


STEP_LABELS = {
    ProvisioningStep.VALIDATING: "Vérification des lignes du fichier",
    ProvisioningStep.RECORDS: "Enregistrement des élèves, des responsables et de leurs liens",
    ProvisioningStep.ACCOUNTS: "Création des comptes, envoi des courriels et préparation des courriers",
    ProvisioningStep.DONE: "Import terminé",
}


class ProvisioningCounts(BaseModel):
    """What the import did, counted in PostgreSQL (exact after retries)."""

    pupils_created: int = 0
    pupils_updated: int = 0
    pupils_unchanged: int = 0
    guardian_accounts_created: int = 0
    pupil_accounts_created: int = 0
    emails_sent: int = 0
    letters_created: int = 0
    # Guardians of this file who already had an account (another school, an
    # earlier import): the child is attached to it, nothing is sent.
    existing_accounts_attached: int = 0


class ProvisioningProgress(BaseModel):
    """Carried from one run to the next (continue-as-new)."""

    step: ProvisioningStep = ProvisioningStep.VALIDATING
    rows_total: int = 0
    rows_valid: int = 0
    rows_invalid: int = 0
    records_done: int = 0  # valid rows whose records are written
    accounts_done: int = 0  # valid rows whose accounts are created and notified
    runs: int = 1
    counts: ProvisioningCounts = ProvisioningCounts()


class ProvisioningInput(BaseModel):
    import_id: UUID
    uai: str
    filename: str = ""
    batch_size: int = DEFAULT_BATCH_SIZE
    batches_per_run: int = DEFAULT_BATCHES_PER_RUN
    progress: ProvisioningProgress | None = None  # set by continue-as-new


class ProvisioningStatus(BaseModel):
    import_id: UUID
    uai: str
    step: ProvisioningStep
    step_label: str
    rows_total: int
    rows_valid: int
    rows_invalid: int
    rows_done: int  # valid rows fully processed (records and accounts)
    records_done: int
    accounts_done: int
    runs: int
    counts: ProvisioningCounts


class ProvisioningResult(BaseModel):
    import_id: UUID
    rows_total: int
    rows_valid: int
    rows_invalid: int
    counts: ProvisioningCounts


# --- activity arguments and results -----------------------------------------


class ImportRef(BaseModel):
    import_id: UUID
    uai: str


class ValidationSummary(BaseModel):
    rows_total: int
    rows_valid: int
    rows_invalid: int


class RowRange(BaseModel):
    """Valid rows [start, end) of an import (positions, not file lines)."""

    import_id: UUID
    uai: str
    start: int
    end: int


class RecordsBatchResult(BaseModel):
    rows: int
    row_errors: int  # rows refused while writing (reported like invalid lines)
