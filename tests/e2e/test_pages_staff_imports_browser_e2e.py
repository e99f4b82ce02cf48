"""The staff provisioning and families pages walked in Chromium on the dev
stack (issue 13, items 5 and 6): real worker and API processes, real
PostgreSQL, the SMTP sink, realistic Argon2id cost.

An école's director signs in, uploads the school's export in the browser
(2,000 pupils and 3 bad lines), and watches the import's page: the bar at 0 %
once its lines are checked (the refused lines listed), midway, then 100 %
(moved by the page's script from the workflow's progress). Midway is made observable deterministically by the
SMTP sink: it takes the first half of the notification emails, then holds the
next one (so the import cannot finish) until the screenshot is taken, then
lets it through. Then the refused lines are listed and downloaded as CSV, the
letters are downloaded as one PDF and opened with pypdf (its pages counted);
then a guardian found by name in "Familles" gets new credentials by letter,
downloaded and read. Every page passes axe-core; screenshots at 360 px and
1280 px in `.artefacts/screenshots/` (`gestion-import-*`, `gestion-familles-*`)."""

from __future__ import annotations

import csv
import io
import time
import uuid

import pytest
import pytest_asyncio
from pypdf import PdfReader

from educonnect.devtools.school_export import generate_export, to_csv
from educonnect.models.corrections import StaffRole
from educonnect.staff import create_staff_account
from tests.e2e.test_provisioning_e2e import stored_to
from tests.support.browser import SCREENSHOTS, WIDTHS, PageCheck, browser  # noqa: F401 (fixture)
from tests.support.schools import make_school
from tests.support.smtp_gate import HoldAfter

pytestmark = pytest.mark.asyncio(loop_scope="session")

N_PUPILS = 2000
BAD_LINES = {12: "31/02/2016", 700: "", 1500: "2016-13-01"}  # file line -> birthdate written
IMPORT_TIMEOUT_S = 900  # the whole import on a machine shared by other suites
MIDWAY_TIMEOUT_S = 300


def export_with_bad_lines(uai_tag: str, domain: str) -> tuple[bytes, int]:
    """The school's export: N_PUPILS good lines and len(BAD_LINES) lines
    whose birthdate is wrong; and the number of distinct guardian addresses."""
    rows = generate_export(
        N_PUPILS + len(BAD_LINES), seed=int(uai_tag, 16), kind="ecole", email_domain=domain
    )
    lines = to_csv(rows).decode().splitlines()
    for line_no, birthdate in BAD_LINES.items():
        cells = lines[line_no - 1].split(";")
        cells[3] = birthdate
        lines[line_no - 1] = ";".join(cells)
    kept = [r for i, r in enumerate(rows) if i + 2 not in BAD_LINES]
    emails = {g.email for r in kept for g in r.guardians if g.email}
    return "\r\n".join(lines).encode(), len(emails)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ecole(stack, smtp_sink):
    tag = uuid.uuid4().hex[:8]
    uai = await make_school(stack.pool, kind="ecole", name=f"École des Tilleuls {tag}")
    login, password = f"directrice.{tag}@ac-lyon.example.fr", f"Tilleuls-{tag}-Fort!9"
    await create_staff_account(
        stack.pool, login=login, email=login, display_name="Directrice Essai", role=StaffRole.SCHOOL_ADMIN,
        password=password, uai=uai, academie="Lyon",
    )  # fmt: skip
    domain = f"tilleuls-{tag}.example.fr"
    yield {"uai": uai, "tag": tag, "login": login, "password": password, "domain": domain}
    for path in stored_to(smtp_sink.folder, domain):  # keep the shared mailbox small
        path.unlink(missing_ok=True)


async def sign_in(page, base: str, ecole: dict, check: PageCheck) -> None:
    await page.goto(f"{base}/gestion/imports")
    await page.wait_for_url(f"{base}/gestion/connexion?retour=/gestion/imports")
    await page.locator("#login").fill(ecole["login"])
    await page.locator("#password").fill(ecole["password"])
    await page.get_by_role("button", name="Se connecter").click()
    await page.wait_for_url(f"{base}/gestion/imports")
    await check.visit(page, "gestion-imports")


async def bar(page) -> int:
    return int(await page.locator("#import-barre").get_attribute("data-percent"))


async def shoot(page, name: str) -> None:
    """Screenshots only (at both widths): the page while the import is held."""
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        await page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 900})


async def test_an_ecole_imports_2000_pupils_and_hands_out_a_letter(
    stack, smtp_sink, browser, ecole
):
    content, addresses = export_with_bad_lines(ecole["tag"], ecole["domain"])
    check = PageCheck()
    context = await browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="fr-FR", accept_downloads=True
    )
    page = await context.new_page()
    base = stack.api_url
    started_at = time.monotonic()
    try:
        await sign_in(page, base, ecole, check)
        # Drag and drop (the script's enhancement) puts the file in the input.
        zone = page.locator("[data-drop-zone]")
        assert await zone.is_visible()
        await zone.evaluate(
            """(zone) => { const dt = new DataTransfer();
                 dt.items.add(new File(["a;b"], "glisse.csv", { type: "text/csv" }));
                 zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true })); }"""
        )
        assert await page.locator("[data-drop-name]").inner_text() == "Fichier choisi : glisse.csv"
        assert await page.locator("#fichier").evaluate("i => i.files[0].name") == "glisse.csv"

        # Half of the notifications go out, then the sink holds the next one.
        with HoldAfter(smtp_sink, ecole["domain"], addresses // 2, refuse_held=False) as gate:
            await page.locator("#fichier").set_input_files(
                files=[{"name": "tilleuls-2026.csv", "mimeType": "text/csv", "buffer": content}]
            )
            await page.get_by_role("button", name="Importer le fichier").click()
            await page.wait_for_url(f"{base}/gestion/imports/*")
            import_url = page.url
            # Once the lines are checked the script reloads the page: the refused lines appear.
            await page.wait_for_selector('[data-import-progress]:not([data-step="validating"])')
            await page.wait_for_load_state("load")
            assert await bar(page) == 0
            assert await page.locator("[data-refused-lines] tbody tr").count() == len(BAD_LINES)
            await check.visit(page, "gestion-import-debut")

            assert await gate.wait_holding(MIDWAY_TIMEOUT_S), "no notification held"
            held_at = time.monotonic()
            await page.wait_for_function(
                "() => { const v = +document.querySelector('#import-barre').dataset.percent;"
                " return v > 0 && v < 100; }",
                timeout=60_000,
            )
            midway = await bar(page)
            count = await page.locator("[data-import-count]").inner_text()
            await shoot(page, "gestion-import-milieu")
            assert "Actualiser" not in await page.locator("[data-import-progress]").inner_text()
        held_for = time.monotonic() - held_at  # under the batch's heartbeat timeout (15 s)
        assert 0 < midway < 100 and f"({midway} %)" in count, count
        # The script reloads the page once the import is over.
        await page.locator("[data-import-summary]").wait_for(timeout=IMPORT_TIMEOUT_S * 1000)
        imported_in = time.monotonic() - started_at
        assert page.url == import_url and await bar(page) == 100
        assert (
            "2\u202f000 lignes traitées sur 2\u202f000 (100 %)"
            in await page.locator("[data-import-count]").inner_text()
        )
        await check.visit(page, "gestion-import-termine")
        # One notification per address, the held one included: nothing sent twice.
        assert len(stored_to(smtp_sink.folder, ecole["domain"])) == addresses

        listed = await page.locator("[data-refused-lines] tbody tr").evaluate_all(
            "rows => rows.map(r => [...r.cells].map(c => c.innerText))"
        )
        assert [int(r[0]) for r in listed] == sorted(BAD_LINES)
        assert {r[1] for r in listed} == {"date_naissance"} and all(r[2] for r in listed)
        async with page.expect_download() as download:
            await page.locator("[data-errors-csv]").click()
        rows = list(
            csv.reader(
                io.StringIO((await (await download.value).path()).read_text("utf-8-sig")),
                delimiter=";",
            )
        )
        assert rows[0] == ["ligne", "colonne", "message"]
        assert [(int(r[0]), r[2]) for r in rows[1:]] == [(int(r[0]), r[2]) for r in listed]

        letters = int(
            await page.locator("[data-letters-count]").get_attribute("data-letters-count")
        )
        async with page.expect_download() as download:
            await page.locator("[data-letters-link]").click()
        pdf = PdfReader(str(await (await download.value).path()))
        assert len(pdf.pages) == letters > 0
        assert "Vos identifiants EduConnect" in pdf.pages[0].extract_text()

        await page.get_by_role("link", name="Tous les imports").click()
        await page.locator(f'[data-import-id="{import_url.rsplit("/", 1)[1]}"]').wait_for()
        await check.visit(page, "gestion-imports-historique")

        # "Familles": a guardian of a letter found by name, new credentials by letter.
        guardian = await stack.pool.fetchrow(
            "SELECT g.last_name, g.first_name, a.identifier FROM accounts a JOIN guardians g ON g.id = a.guardian_id "
            "JOIN guardian_pupils gp ON gp.guardian_id = g.id JOIN pupils p ON p.id = gp.pupil_id "
            "WHERE p.uai = $1 AND g.email IS NULL ORDER BY a.identifier LIMIT 1",
            ecole["uai"],
        )
        await page.get_by_role("link", name="Familles").click()
        await page.wait_for_url(f"{base}/gestion/familles")
        await check.visit(page, "gestion-familles")
        await page.locator("#nom").fill(f"{guardian['first_name']} {guardian['last_name']}")
        await page.get_by_role("button", name="Rechercher").click()
        person = page.locator(
            f'li[data-person="{guardian["last_name"]} {guardian["first_name"]}"]'
        ).first
        await person.wait_for()
        assert guardian["identifier"] in await person.inner_text()
        await check.visit(page, "gestion-familles-resultats")
        await person.get_by_role("button", name="Par courrier à imprimer").click()
        await page.wait_for_url(f"{base}/gestion/familles/remises/*")
        assert await page.locator("[data-reissue-step]").get_attribute("data-channel") == "letter"
        await check.visit(page, "gestion-familles-remise")
        async with page.expect_download() as download:
            await page.locator("[data-letter-link]").click()
        letter = PdfReader(str(await (await download.value).path()))
        text = letter.pages[0].extract_text()
        assert len(letter.pages) == 1 and guardian["identifier"] in text
        assert "nouveaux identifiants provisoires" in text
    finally:
        await context.close()
    print(f"\nécole of 2,000 pupils imported through the pages in {imported_in:.0f} s "
          f"(notifications held {held_for:.1f} s midway); walk {time.monotonic() - started_at:.0f} s")  # fmt: skip
    assert check.visited == [
        "gestion-imports", "gestion-import-debut", "gestion-import-termine", "gestion-imports-historique",
        "gestion-familles", "gestion-familles-resultats", "gestion-familles-remise",
    ]  # fmt: skip
