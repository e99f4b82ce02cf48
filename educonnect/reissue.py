"""When staff may issue new provisional credentials (DESIGN §2: staff never
choose a user's password; they can issue new provisional credentials).

Yes for an account not activated yet (notification lost, credentials expired,
activation stuck), for a locked account, and for an active account whose owner
cannot recover it alone: no confirmed email and (guardians) no confirmed
mobile; a pupil without a confirmed email is the usual case (DESIGN §3.4).
No for an active account its owner can recover with "Identifiant ou mot de
passe oublié", and for a merged account (the kept one is the one to use).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from educonnect.errors import ErrorCode

NOT_ACTIVATED = ("provisioned", "activating")


def can_self_recover(account: Mapping[str, Any]) -> bool:
    if account["email_verified_at"] is not None:
        return True
    return account["kind"] == "guardian" and account["mobile_verified_at"] is not None


def refusal(account: Mapping[str, Any]) -> ErrorCode | None:
    """Why new provisional credentials cannot be issued for this account, or None."""
    if account["state"] == "merged":
        return ErrorCode.REISSUE_ACCOUNT_MERGED
    if account["state"] == "active" and can_self_recover(account):
        return ErrorCode.REISSUE_SELF_RECOVERY
    return None
