"""The pages families use (DESIGN §8): server-rendered HTML (Jinja2) on the
State design system (DSFR, vendored in `static/dsfr/` by `scripts/vendor-dsfr`).

- `api.web.forms`: rendering, the CSRF token of every form, the state of a
  refused form carried across its redirect (POST, then redirect to a GET).
- `api.web.paths`: every page's address (those still to come too).
- `api.web.home`: Accueil / connexion (`/`), the portal page (`/portail`).
- `api.web.activation`: the guardian's activation ("Gérer mon compte",
  "Activer votre compte", blocked, done), each page built from the workflow's
  status.
- `api.web.pupil_activation`: the pupil's activation (the same steps, the address
  optional: "Continuer sans adresse").
- `api.web.registration`: "Je n'ai pas de compte", SMS self-registration (`/inscription`).
- `api.web.franceconnect`: FranceConnect's first visit (mobile, code, a child's
  birthdate, blocked, ended) and the page of a refused FranceConnect sign-in;
  the callback (`api.routers.franceconnect`) redirects a browser to them.
- `templates/account_menu.html`: the header's account menu of signed-in pages.
- `api.web.recovery`: "Identifiant oublié", "Mot de passe oublié" (email link, SMS
  code, new password, done); the email link's form (`/recovery/password/link`).
- `api.web.assistance`: the birthdate-correction form of a blocked process, a
  request's page (question, answer, decision), the ticket form;
  `add_blocked_correction_pages` for a process that files through a `Blocked`.
- `api.web.staff`: the staff back-office under `/gestion` (its own layout,
  `templates/staff/base.html`, and session; see its docstring).

Pages call the same process layer as the JSON routes (`api.routers.*`,
`api.activation_routes`, `api.process_calls`), never the API over HTTP; every
refusal's French text comes from `educonnect.errors`. Page routes are kept out
of the OpenAPI description (the JSON API's contract).

Adding a page (e.g. a step of SMS registration):

1. its address in `paths.py`; a router module here (`APIRouter(include_in_schema=False,
   default_response_class=HTMLResponse)`), included in `api/app.py`;
2. GET: `render(request, "<process>/<step>.html", {...}, form=FORM)`; the template
   `{% extends "base.html" %}` and `{% import "macros.html" as m with context %}`,
   then `m.stepper(n, steps)`, `m.error_summary(form)`, `m.notice(form)`, and inside
   each form `m.csrf()` and `m.field(form, name, label, ...)` (the input's `name` is
   the JSON model's field name, so a refusal's `details[].field` lands at it);
3. POST: `form = await read_form(request, FORM, secret_fields=(...))`; `if not
   form.csrf_ok: return form.expired(PAGE)`; call the process function the JSON
   route calls (extract it from the route if it is inline); on `DomainError`
   `return form.refused(PAGE, errors_of(err, {code: field}))`; on success
   `redirect(next_page)` or `notice(page, FORM, text)`;
4. a browser walk in `tests/e2e/test_pages_browser_e2e.py` style: `PageCheck.visit`
   on every page (axe-core, screenshots at 360 and 1280 px)."""
