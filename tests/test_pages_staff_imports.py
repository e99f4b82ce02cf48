"""The staff provisioning and families pages in process (issue 13, items 5
and 6; api/web/staff/imports.py, families.py), on the time-skipping server
with the real activities: upload through the form, the import's page (its
progress from the workflow, the refused lines, the CSV, the letters PDF), the
history; the family search, new credentials by letter and the account of a
guardian who has none; another school's import or family reads as unknown.
The browser walk: tests/e2e/test_pages_staff_imports_browser_e2e.py."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from pypdf import PdfReader

from api.staff_imports import percent_done
from api.web.staff.imports import progress_view
from educonnect import provisioning_imports
from educonnect.devtools.school_export import generate_export, to_csv
from educonnect.models.corrections import StaffRole
from educonnect.models.provisioning import STEP_LABELS, ProvisioningCounts, ProvisioningStatus
from educonnect.models.provisioning import ProvisioningStep as Step
from educonnect.staff import find_session
from tests.support.corrections import family_at, make_school, make_staff
from tests.support.staff_pages import csrf_of, follow, signed_in_pages
from tests.workflows.test_credentials_reissue import guardian_without_account
from workflows.provisioning import ProvisioningWorkflow, workflow_id

pytestmark = pytest.mark.asyncio(loop_scope="session")

IMPORT_PAGE = re.compile(r"^/gestion/imports/([0-9a-f-]{36})$")


def _status(step: Step, valid: int, done: int) -> ProvisioningStatus:
    return ProvisioningStatus(
        import_id=uuid.uuid4(), uai="0690001T", step=step, step_label=STEP_LABELS[step],
        rows_total=valid, rows_valid=valid, rows_invalid=0, rows_done=done, records_done=valid,
        accounts_done=done, runs=1, counts=ProvisioningCounts(),
    )  # fmt: skip


async def test_the_bar_is_the_valid_rows_done_and_full_only_once_the_import_is_over():
    assert percent_done(_status(Step.VALIDATING, 0, 0)) == 0
    assert percent_done(_status(Step.RECORDS, 2000, 0)) == 0
    assert percent_done(_status(Step.ACCOUNTS, 2000, 600)) == 30
    assert percent_done(_status(Step.ACCOUNTS, 2000, 2000)) == 99  # the last step still to come
    assert percent_done(_status(Step.DONE, 0, 0)) == 100  # a file of refused lines only
    view = progress_view(_status(Step.ACCOUNTS, 2000, 1200))
    assert view["text"] == "1\u202f200 lignes traitées sur 2\u202f000 (60 %)"
    assert view["finished"] is False and view["step"] == "accounts"


async def upload(http, content: bytes, filename: str = "rentree.csv"):
    token = await csrf_of(http, "/gestion/imports")
    return await http.post(
        "/gestion/imports",
        data={"csrf_token": token},
        files={"fichier": (filename, content, "text/csv")},
    )


async def test_upload_follow_the_import_read_its_refused_lines_and_print_its_letters(
    make_client, db_pool, time_skipping_env
):
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    rows = generate_export(
        8, seed=33, kind="college", email_domain=f"t{uuid.uuid4().hex[:8]}.example.fr"
    )
    bad_date = rows[2].birthdate.strftime("%d/%m/%Y")
    content = to_csv(rows).decode().replace(bad_date, "2012-13-45", 1).encode()
    async with make_client() as http:
        await signed_in_pages(http, admin)
        empty = await http.get("/gestion/imports")
        assert "Importer le fichier de l’établissement" in empty.text
        assert (
            'enctype="multipart/form-data"' in empty.text
            and "Aucun import pour l’instant." in empty.text
        )
        assert 'aria-current="page"' in empty.text and f"{school.name} ({school.uai})" in empty.text

        # No file, a file that is not the export: said at the field, nothing started.
        token = await csrf_of(http, "/gestion/imports")
        page = await follow(http, await http.post("/gestion/imports", data={"csrf_token": token}))
        assert 'data-code="provisioning_file_invalid"' in page.text
        assert "Choisissez le fichier" in page.text and "fr-upload-group--error" in page.text
        page = await follow(http, await upload(http, b"nom;prenom\nDupont;Jean\n", "autre.csv"))
        assert (
            'data-code="provisioning_file_invalid"' in page.text
            and 'aria-invalid="true"' in page.text
        )
        forged = await http.post(
            "/gestion/imports", data={"csrf_token": "x"}, files={"fichier": ("a.csv", content)}
        )
        assert 'data-code="form_expired"' in (await follow(http, forged)).text
        assert await db_pool.fetchval(
            "SELECT count(*) FROM provisioning_imports WHERE uai = $1", school.uai
        ) == 0  # fmt: skip

        started = await upload(http, content)
        assert started.status_code == 303, started.text
        import_id = IMPORT_PAGE.match(started.headers["location"]).group(1)
        await time_skipping_env.client.get_workflow_handle_for(
            ProvisioningWorkflow.run, workflow_id(school.uai, import_id)
        ).result()

        page = await http.get(started.headers["location"])
        assert page.status_code == 200
        assert 'value="100"' in page.text and "Import terminé" in page.text
        assert "7 lignes traitées sur 7 (100 %)" in page.text
        assert "Actualiser" not in page.text  # over: nothing left to refresh
        assert '<tr data-line="4"><td>4</td><td>date_naissance</td>' in page.text
        assert "« 2012-13-45 » n&#39;est pas une date valide" in page.text
        letters = int(re.search(r'data-letters-count="(\d+)"', page.text).group(1))
        assert letters >= 7  # every collège pupil, and guardians without email

        progress = (await http.get(f"/gestion/imports/{import_id}/avancement")).json()
        assert progress["percent"] == 100 and progress["finished"] is True

        as_csv = await http.get(f"/gestion/imports/{import_id}/lignes-refusees.csv")
        assert as_csv.headers["content-type"].startswith("text/csv")
        assert "attachment" in as_csv.headers["content-disposition"]
        table = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig")), delimiter=";"))
        assert table[0] == ["ligne", "colonne", "message"] and table[1][:2] == [
            "4",
            "date_naissance",
        ]
        assert len(table) == 2

        pdf = await http.get(f"/gestion/imports/{import_id}/courriers.pdf")
        assert pdf.headers["content-type"] == "application/pdf", pdf.text
        assert len(PdfReader(io.BytesIO(pdf.content)).pages) == letters

        history = await http.get("/gestion/imports")
        assert f'data-import-id="{import_id}"' in history.text and "rentree.csv" in history.text
        assert "Terminé" in history.text

    # Another school's administrator: the import reads as unknown, and so do its files.
    other = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, await make_school(db_pool))
    async with make_client() as http:
        await signed_in_pages(http, other)
        for suffix in ("", "/lignes-refusees.csv", "/courriers.pdf"):
            page = await http.get(f"/gestion/imports/{import_id}{suffix}")
            assert page.status_code == 404 and "Introuvable" in page.text
            assert 'data-code="provisioning_import_not_found"' in page.text
        malformed = await http.get("/gestion/imports/pas-un-identifiant")
        assert malformed.status_code == 404 and "Introuvable" in malformed.text
        fragment = await http.get(f"/gestion/imports/{import_id}/avancement")
        assert (
            fragment.status_code == 404
            and fragment.json()["code"] == "provisioning_import_not_found"
        )
        assert f'data-import-id="{import_id}"' not in (await http.get("/gestion/imports")).text
    refused = await db_pool.fetchval(
        "SELECT count(*) FROM audit_log WHERE actor_id = $1 AND outcome = 'refused'", other.id
    )
    assert refused >= 4
    # Académie support does not import (not in its navigation): unknown too.
    support = await make_staff(db_pool, StaffRole.ACADEMIE_SUPPORT, school)
    async with make_client() as http:
        await signed_in_pages(http, support)
        assert (await http.get(f"/gestion/imports/{import_id}")).status_code == 404
        assert (await http.get("/gestion/imports")).status_code == 404


async def test_a_running_import_shows_its_bar_and_a_refresh_link(make_client, db_pool):
    """An import the workflow has not reported on yet (its first step): 0 %,
    "Actualiser" for a browser without JavaScript, the script's address."""
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    import_id = uuid.uuid4()
    member = None
    async with make_client() as http:
        await signed_in_pages(http, admin)
        token = next(c.value for c in http.cookies.jar if c.name == "educonnect_staff_session")
        member = await find_session(db_pool, token)
        content = to_csv(generate_export(3, seed=5, kind="college"))
        await provisioning_imports.record_import(
            db_pool, import_id, school.uai, member, "en-cours.csv", content
        )
        page = await http.get(f"/gestion/imports/{import_id}")
        assert page.status_code == 200
        assert 'value="0"' in page.text and "Vérification des lignes du fichier" in page.text
        assert f'href="/gestion/imports/{import_id}">Actualiser</a>' in page.text
        assert f'data-import-progress="/gestion/imports/{import_id}/avancement"' in page.text
        assert 'data-finished="false"' in page.text and "Lignes refusées" in page.text
        assert "Télécharger les courriers" not in page.text
        progress = (await http.get(f"/gestion/imports/{import_id}/avancement")).json()
        assert progress == {
            "percent": 0, "rows_done": 0, "rows_valid": 0, "records_done": 0, "step": "validating",
            "step_label": "Vérification des lignes du fichier", "finished": False,
            "text": "Vérification des lignes du fichier…",
        }  # fmt: skip
        history = await http.get("/gestion/imports")
        assert "En cours" in history.text and "en-cours.csv" in history.text


async def test_families_search_new_credentials_by_letter_and_a_guardians_account(
    make_client, db_pool
):
    school = await make_school(db_pool)
    admin = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, school)
    family = await family_at(db_pool, school)
    last_name = await db_pool.fetchval(
        "SELECT last_name FROM guardians WHERE id = $1", family.guardian_id
    )
    guardian_id, other_name = await guardian_without_account(db_pool, school, email=None)
    async with make_client() as http:
        await signed_in_pages(http, admin)
        short = await http.get("/gestion/familles", params={"nom": "a"})
        assert 'data-code="invalid_input"' in short.text and "au moins 2 lettres" in short.text

        found = await http.get("/gestion/familles", params={"nom": last_name.lower()[:5]})
        assert found.status_code == 200 and family.identifier in found.text
        assert "Identifiants provisoires remis, compte non activé" in found.text
        action = f"/gestion/familles/comptes/{family.account_id}/identifiants"
        assert f'action="{action}"' in found.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', found.text).group(1)

        issued = await http.post(
            action, data={"csrf_token": token, "nom": last_name, "canal": "courrier"}
        )
        assert issued.status_code == 303, issued.text
        handover = await http.get(issued.headers["location"])
        assert (
            'data-reissue-step="done"' in handover.text and 'data-channel="letter"' in handover.text
        )
        assert "imprimez le courrier" in handover.text and family.identifier in handover.text
        letter_url = re.search(r'href="([^"]+courrier\.pdf)"', handover.text).group(1)
        letter = await http.get(letter_url)
        assert letter.headers["content-type"] == "application/pdf"
        text = PdfReader(io.BytesIO(letter.content)).pages[0].extract_text()
        assert family.identifier in text and "nouveaux identifiants provisoires" in text

        # A guardian of the school records without an account: created, first credentials by letter.
        found = await http.get("/gestion/familles", params={"nom": other_name})
        create = f"/gestion/familles/responsables/{guardian_id}/compte"
        assert f'action="{create}"' in found.text and "Pas encore de compte." in found.text
        created = await http.post(
            create, data={"csrf_token": token, "nom": other_name, "canal": "courriel"}
        )
        handover = await http.get(created.headers["location"])
        assert (
            "Compte créé" in handover.text and 'data-channel="letter"' in handover.text
        )  # no email
        again = await http.post(
            create, data={"csrf_token": token, "nom": other_name, "canal": "courriel"}
        )
        assert again.headers["location"] == f"/gestion/familles?nom={other_name}"
        assert 'data-code="staff_account_exists"' in (await follow(http, again)).text
        no_channel = await http.post(action, data={"csrf_token": token, "nom": last_name})
        assert 'data-code="invalid_input"' in (await follow(http, no_channel)).text
        reissue_url = issued.headers["location"].split("?")[0]

    # Another school's administrator finds nothing and reaches nothing.
    other = await make_staff(db_pool, StaffRole.SCHOOL_ADMIN, await make_school(db_pool))
    async with make_client() as http:
        await signed_in_pages(http, other)
        found = await http.get("/gestion/familles", params={"nom": last_name})
        assert "Aucun élève trouvé" in found.text and family.identifier not in found.text
        token = await csrf_of(http, "/gestion/familles")
        refused = await http.post(action, data={"csrf_token": token, "canal": "courrier"})
        page = await follow(http, refused)
        assert 'data-code="staff_account_not_found"' in page.text
        malformed = await http.post(
            "/gestion/familles/comptes/x/identifiants",
            data={"csrf_token": token, "canal": "courrier"},
        )
        assert 'data-code="staff_account_not_found"' in (await follow(http, malformed)).text
        for url in (reissue_url, reissue_url + "/courrier.pdf", "/gestion/familles/remises/x"):
            unknown = await http.get(url)
            assert unknown.status_code == 404 and 'data-code="reissue_not_found"' in unknown.text
    issued_count = await db_pool.fetchval(
        "SELECT count(*) FROM credential_reissues WHERE account_id = $1", family.account_id
    )
    assert issued_count == 1
