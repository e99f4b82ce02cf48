"""School provisioning on the time-skipping server, with the real activities
(PostgreSQL, SMTP, PDF letters): validation, idempotent re-imports, changed
files, a guardian known through another school, batches and continue-as-new."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from temporalio.client import WorkflowExecutionStatus

from activities.provisioning import ProvisioningActivities, notification_key
from educonnect.devtools.school_export import ExportRow, Guardian, changed, generate_export, to_csv
from educonnect.models.provisioning import ProvisioningInput, ProvisioningResult, ProvisioningStep
from educonnect.passwords import verify_password
from educonnect.search_attributes import PROCESS_STEP, ROWS_DONE, ROWS_TOTAL
from tests.support.mail import NOTIFICATION_SUBJECT, Mailbox, provisional_credentials
from tests.support.names import letters_tag
from tests.support.schools import expected_guardian_records, make_school, store_import
from workflows.provisioning import ProvisioningWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def run_import(
    env, task_queue: str, pool, uai: str, content: bytes, **options
) -> tuple[ProvisioningResult, str]:
    import_id = await store_import(pool, uai, content)
    wid = workflow_id(uai, import_id)
    handle = await env.client.start_workflow(
        ProvisioningWorkflow.run,
        ProvisioningInput(import_id=import_id, uai=uai, filename="export.csv", **options),
        id=wid,
        task_queue=task_queue,
    )
    RUNS[wid] = handle.first_execution_run_id
    return await handle.result(), wid


RUNS: dict[str, str] = {}  # workflow id -> first run id


def domain() -> str:
    return f"t{uuid.uuid4().hex[:10]}.example.fr"


async def accounts_of_school(pool, uai: str) -> list:
    return await pool.fetch(
        """
        SELECT DISTINCT a.id, a.kind, a.identifier, a.email, a.provisional_password_hash
        FROM pupils p JOIN guardian_pupils gp ON gp.pupil_id = p.id
        JOIN accounts a ON a.guardian_id = gp.guardian_id OR a.pupil_id = p.id
        WHERE p.uai = $1
        """,
        uai,
    )


async def test_import_validates_creates_accounts_and_notifies(
    time_skipping_env, workflow_worker, db_pool, mailbox: Mailbox
):
    uai = await make_school(db_pool, kind="college")
    mail_domain = domain()
    rows = generate_export(12, seed=11, kind="college", email_domain=mail_domain)
    content = to_csv(rows).decode()
    # Two bad lines: an impossible date (line 3) and a bad mobile (line 6).
    lines = content.split("\r\n")
    lines[2] = lines[2].replace(rows[1].birthdate.strftime("%d/%m/%Y"), "31/02/2012")
    bad_mobile_row = rows[4]
    lines[5] = ";".join([*lines[5].split(";")[:8], "01 23", *lines[5].split(";")[9:]])
    result, wid = await run_import(
        time_skipping_env, workflow_worker, db_pool, uai, "\r\n".join(lines).encode()
    )

    assert (result.rows_total, result.rows_valid, result.rows_invalid) == (12, 10, 2)
    import_id = result.import_id
    errors = await db_pool.fetch(
        "SELECT line_no, field, message FROM provisioning_import_errors WHERE import_id = $1 ORDER BY line_no",
        import_id,
    )
    assert [(e["line_no"], e["field"]) for e in errors] == [
        (3, "date_naissance"),
        (6, "resp1_mobile"),
    ]
    assert "n'est pas une date valide" in errors[0]["message"]
    assert "mobile" in errors[1]["message"] and "01 23" in errors[1]["message"]
    # The bad lines' pupils are not in the records; the others are.
    assert await db_pool.fetchval("SELECT count(*) FROM pupils WHERE uai = $1", uai) == 10
    assert not await db_pool.fetchval(
        "SELECT count(*) FROM pupils WHERE uai = $1 AND external_id = $2",
        uai,
        bad_mobile_row.external_id,
    )

    good = [r for i, r in enumerate(rows) if i not in (1, 4)]
    guardians = {(g.last_name, g.first_name, g.mobile, g.email) for r in good for g in r.guardians}
    with_email = {g for g in guardians if g[3]}
    c = result.counts
    assert c.pupils_created == 10 and c.pupil_accounts_created == 10
    assert c.guardian_accounts_created == expected_guardian_records(good)
    assert c.emails_sent == len(with_email)
    # Every pupil, and the guardians without email, get a letter.
    assert c.letters_created == 10 + expected_guardian_records(good) - len(with_email)

    # Each guardian with an email got the school's notification, whose
    # provisional password works (valid 3 months) and which lists the children.
    for _, _first, _, email in with_email:
        [notification] = [m for m in mailbox.to(email) if m.subject == NOTIFICATION_SUBJECT]
        identifier, password = provisional_credentials(notification.text)
        account = await db_pool.fetchrow(
            "SELECT provisional_password_hash, provisional_expires_at, state FROM accounts WHERE identifier = $1",
            identifier,
        )
        assert account["state"] == "provisioned"
        assert verify_password(account["provisional_password_hash"], password)
        validity = account["provisional_expires_at"] - datetime.now(UTC)
        assert timedelta(days=91) < validity <= timedelta(days=92)
        children = [r.first_name for r in good if any(g.email == email for g in r.guardians)]
        assert all(child in notification.text for child in children)

    # Letters: a pupil's holds its identifier and a working provisional password.
    letter = await db_pool.fetchrow(
        "SELECT l.pdf, a.identifier, a.provisional_password_hash FROM provisioning_letters l "
        "JOIN accounts a ON a.id = l.account_id WHERE l.import_id = $1 AND a.kind = 'pupil' LIMIT 1",
        import_id,
    )
    text = PdfReader(io.BytesIO(letter["pdf"])).pages[0].extract_text()
    assert letter["identifier"] in text
    _, password = provisional_credentials(text)
    assert verify_password(letter["provisional_password_hash"], password)

    handle = time_skipping_env.client.get_workflow_handle(wid)
    status = await handle.query(ProvisioningWorkflow.status)
    assert status.step == ProvisioningStep.DONE and status.rows_done == 10
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(PROCESS_STEP) == "done"
    assert (attributes.get(ROWS_DONE), attributes.get(ROWS_TOTAL)) == (10, 10)

    # Nothing secret in the history: no password, no hash.
    history = await handle.fetch_history()
    raw = history.to_json()
    assert "$argon2" not in raw and password not in raw


async def test_reimport_of_the_same_file_creates_and_sends_nothing(
    time_skipping_env, workflow_worker, db_pool, mailbox: Mailbox
):
    uai = await make_school(db_pool, kind="lycee")
    mail_domain = domain()
    content = to_csv(generate_export(15, seed=12, kind="lycee", email_domain=mail_domain))
    first, _ = await run_import(time_skipping_env, workflow_worker, db_pool, uai, content)
    accounts_before = await accounts_of_school(db_pool, uai)
    mails_before = len([m for m in mailbox.to(mail_domain)])
    assert first.counts.emails_sent > 0 and mails_before == first.counts.emails_sent

    again, _ = await run_import(time_skipping_env, workflow_worker, db_pool, uai, content)
    c = again.counts
    assert (c.pupils_created, c.pupils_updated, c.pupils_unchanged) == (0, 0, 15)
    assert (
        c.guardian_accounts_created,
        c.pupil_accounts_created,
        c.emails_sent,
        c.letters_created,
    ) == (0, 0, 0, 0)
    assert c.existing_accounts_attached == first.counts.guardian_accounts_created
    accounts_after = await accounts_of_school(db_pool, uai)
    assert sorted(map(tuple, accounts_after)) == sorted(
        map(tuple, accounts_before)
    )  # same accounts, same hashes
    assert len(mailbox.to(mail_domain)) == mails_before
    assert await db_pool.fetchval("SELECT count(*) FROM pupils WHERE uai = $1", uai) == 15


async def test_changed_file_updates_records_and_notifies_only_new_accounts(
    time_skipping_env, workflow_worker, db_pool, mailbox: Mailbox
):
    uai = await make_school(db_pool, kind="college")
    mail_domain = domain()
    rows = generate_export(20, seed=13, kind="college", email_domain=mail_domain)
    first, _ = await run_import(time_skipping_env, workflow_worker, db_pool, uai, to_csv(rows))
    mails_before = {m.id for m in mailbox.to(mail_domain)}

    next_rows = changed(
        rows, seed=14, new_pupils=4, class_changes=5, kind="college", email_domain=mail_domain
    )
    second, _ = await run_import(
        time_skipping_env, workflow_worker, db_pool, uai, to_csv(next_rows)
    )
    c = second.counts
    assert (c.pupils_created, c.pupils_updated, c.pupils_unchanged) == (4, 5, 15)
    new_guardians = {
        (g.last_name, g.first_name, g.email) for r in next_rows[20:] for g in r.guardians
    }
    assert (
        c.pupil_accounts_created == 4
        and c.guardian_accounts_created == expected_guardian_records(next_rows[20:])
    )
    new_mails = [m for m in mailbox.to(mail_domain) if m.id not in mails_before]
    assert sorted(m.to for m in new_mails) == sorted(e for _, _, e in new_guardians if e)
    moved = [r for r in next_rows[:20] if r.class_name.endswith("b")]
    assert len(moved) == 5
    for r in moved:
        assert (
            await db_pool.fetchval(
                "SELECT class_name FROM pupils WHERE uai = $1 AND external_id = $2",
                uai,
                r.external_id,
            )
            == r.class_name
        )


async def test_guardian_known_through_another_school_gets_the_child_attached(
    time_skipping_env, workflow_worker, db_pool, mailbox: Mailbox
):
    """FAQ 13: same names (accents and case aside) and same mobile or email →
    the same person: the new child is attached to the existing account."""
    ecole = await make_school(db_pool, kind="ecole")
    college = await make_school(db_pool, kind="college")
    tag = letters_tag()
    mother = Guardian(f"Lefèvre{tag}", "Hélène", "06 12 34 56 78", f"helene.{tag}@example.fr")
    father = Guardian(f"Lefèvre{tag}", "Marc", "", "")  # no contact: never matched across schools
    little = ExportRow("E1" + tag[:6].upper(), mother.last_name, "Zoé", datetime(2018, 3, 4).date(), "CE2 A", "CE2",
                       (mother, father))  # fmt: skip
    first, _ = await run_import(
        time_skipping_env, workflow_worker, db_pool, ecole, to_csv([little])
    )
    assert first.counts.guardian_accounts_created == 2
    [notification] = mailbox.to(mother.email)

    # The collège's file spells her differently, gives only her email.
    same_mother = Guardian(f"LEFEVRE{tag}", "helene", "", mother.email.upper())
    big = ExportRow("C1" + tag[:6].upper(), mother.last_name, "Louis", datetime(2013, 5, 6).date(), "5e A", "5e",
                    (same_mother,))  # fmt: skip
    second, _ = await run_import(
        time_skipping_env, workflow_worker, db_pool, college, to_csv([big])
    )
    c = second.counts
    assert c.guardian_accounts_created == 0 and c.existing_accounts_attached == 1
    assert c.pupil_accounts_created == 1 and c.emails_sent == 0
    assert mailbox.to(mother.email) == [notification]  # nothing new sent to her
    identifier, _ = provisional_credentials(notification.text)
    children = await db_pool.fetch(
        "SELECT p.first_name FROM accounts a JOIN guardian_pupils gp ON gp.guardian_id = a.guardian_id "
        "JOIN pupils p ON p.id = gp.pupil_id WHERE a.identifier = $1 ORDER BY p.first_name",
        identifier,
    )
    assert [r["first_name"] for r in children] == ["Louis", "Zoé"]
    assert (
        await db_pool.fetchval(
            "SELECT count(*) FROM guardians WHERE last_name ILIKE $1 AND first_name = 'Hélène'",
            f"lef%vre{tag}",
        )
        == 1
    )


async def test_batches_and_continue_as_new(
    time_skipping_env, workflow_worker, db_pool, mailbox: Mailbox
):
    uai = await make_school(db_pool, kind="lycee")
    mail_domain = domain()
    content = to_csv(generate_export(23, seed=15, kind="lycee", email_domain=mail_domain))
    # 23 rows in batches of 4: 6 record batches + 6 account batches, 5 batches a run.
    result, wid = await run_import(
        time_skipping_env, workflow_worker, db_pool, uai, content, batch_size=4, batches_per_run=5
    )
    assert result.rows_valid == 23 and result.counts.pupil_accounts_created == 23
    handle = time_skipping_env.client.get_workflow_handle(wid)
    status = await handle.query(ProvisioningWorkflow.status)
    assert status.runs == 3 and status.rows_done == 23

    first_run = time_skipping_env.client.get_workflow_handle(wid, run_id=RUNS[wid])
    assert (await first_run.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    assert len(mailbox.to(mail_domain)) == result.counts.emails_sent
    emails = await db_pool.fetchval(
        "SELECT count(*) FROM sent_emails WHERE to_address LIKE $1", f"%@{mail_domain}"
    )
    assert emails == result.counts.emails_sent


async def test_a_retried_batch_creates_and_sends_nothing_twice(
    time_skipping_env, workflow_worker, db_pool, mailbox: Mailbox
):
    """A batch retried after a crash (same activity, same rows) finds every
    account delivered; an account left undelivered gets a new password, once."""
    uai = await make_school(db_pool, kind="college")
    mail_domain = domain()
    content = to_csv(generate_export(6, seed=16, kind="college", email_domain=mail_domain))
    result, _ = await run_import(time_skipping_env, workflow_worker, db_pool, uai, content)
    sent = len(mailbox.to(mail_domain))
    from educonnect.models.provisioning import RowRange

    activities = ProvisioningActivities(db_pool)
    again = await activities.provision_accounts(
        RowRange(import_id=result.import_id, uai=uai, start=0, end=6)
    )
    assert again == result.counts
    assert len(mailbox.to(mail_domain)) == sent

    # The state a crash between "account committed" and "notification
    # delivered" would leave (the notification row without delivered_at).
    account = await db_pool.fetchrow(
        "SELECT a.id, a.email, a.provisional_password_hash FROM provisioning_notifications n "
        "JOIN accounts a ON a.id = n.account_id WHERE n.import_id = $1 AND n.channel = 'email' LIMIT 1",
        result.import_id,
    )
    await db_pool.execute(
        "UPDATE provisioning_notifications SET delivered_at = NULL, channel = NULL WHERE account_id = $1",
        account["id"],
    )
    await db_pool.execute(
        "DELETE FROM sent_emails WHERE idempotency_key = $1", notification_key(account["id"])
    )
    await activities.provision_accounts(
        RowRange(import_id=result.import_id, uai=uai, start=0, end=6)
    )
    await activities.provision_accounts(
        RowRange(import_id=result.import_id, uai=uai, start=0, end=6)
    )
    messages = mailbox.to(account["email"])
    assert len(messages) == 2  # the first (its password now dead) and exactly one new one
    _, new_password = provisional_credentials(messages[-1].text)
    _, old_password = provisional_credentials(messages[0].text)
    new_hash = await db_pool.fetchval(
        "SELECT provisional_password_hash FROM accounts WHERE id = $1", account["id"]
    )
    assert new_hash != account["provisional_password_hash"]
    assert verify_password(new_hash, new_password) and not verify_password(new_hash, old_password)
    assert len(mailbox.to(mail_domain)) == sent + 1


async def test_a_file_without_the_required_columns_is_reported(
    time_skipping_env, workflow_worker, db_pool
):
    uai = await make_school(db_pool, kind="college")
    result, _ = await run_import(
        time_skipping_env, workflow_worker, db_pool, uai, b"nom;prenom\r\nDupont;Marie\r\n"
    )
    assert result.rows_valid == 0
    [error] = await db_pool.fetch("SELECT line_no, message FROM provisioning_import_errors WHERE import_id = $1",
                                  result.import_id)  # fmt: skip
    assert error["line_no"] == 1 and "identifiant_eleve" in error["message"]
