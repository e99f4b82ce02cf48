"""Emails the platform sends: one module of French templates per process, and
the sender (`educonnect.emails.sender`)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    sender_name: str = "EduConnect"
