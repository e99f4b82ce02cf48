"""Pydantic models carried by Temporal (workflow inputs, signals, updates,
queries, activity arguments). They carry ids and facts, never a secret."""
