"""Emails the platform sends: one module of French templates per process, and
the sender (`educonnect.emails.sender`), which sends each as a text part and
an HTML part built from it (`educonnect.emails.html`)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    sender_name: str = "EduConnect"
    action: str | None = None  # the label of the HTML part's button for the text's link
