"""Shared domain package: settings, policies, models and helpers used by
workflows, activities, the API and the worker.

Modules imported by workflow code (models, errors, policies, search_attributes,
french_dates) stay free of I/O, of module-level side effects and of anything
non-deterministic (no clock, no randomness, no default factories that read
them): the workflow sandbox passes `educonnect` through (`worker.SANDBOX_PASSTHROUGH`,
imported once per worker, not once per workflow run), so it no longer checks them.
"""
