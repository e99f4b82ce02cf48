"""Shared domain package: settings, policies, models and helpers used by
workflows, activities, the API and the worker.

Modules imported by workflow code (models, errors, search_attributes) stay free
of I/O and of module-level side effects: the workflow sandbox re-imports them.
"""
