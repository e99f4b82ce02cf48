"""The pages families use (DESIGN §8): server-rendered HTML (Jinja2) on the
State design system (DSFR, vendored in `static/dsfr/` by `scripts/vendor-dsfr`).

- `api.web.forms`: rendering, the CSRF token of every form, the state of a
  refused form carried across its redirect (POST, then redirect to a GET).
- `api.web.home`: Accueil / connexion (`/`), the portal page (`/portail`).
- `api.web.activation`: the guardian's activation ("Gérer mon compte",
  "Activer votre compte", blocked, done), each page built from the workflow's
  status.

Pages call the same process layer as the JSON routes (`api.routers.*`,
`api.activation_routes`, `api.process_calls`), never the API over HTTP; every
refusal's French text comes from `educonnect.errors`. Page routes are kept out
of the OpenAPI description (the JSON API's contract)."""
