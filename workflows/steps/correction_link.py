"""How a process blocked on a birthdate reaches the birthdate correction that
unblocks it: the correction's workflow id, and the signal by which the
process tells the correction it resumed.

Apart from `workflows.birthdate_correction` (which declares its signal with
this name) so that the processes that check a birthdate do not load that
whole workflow module in each of their sandboxes (issue 14: a new sandbox per
workflow run)."""

from __future__ import annotations

UNBLOCK_CONFIRMED_SIGNAL = "unblock_confirmed"


def correction_workflow_id(request_id) -> str:
    return f"birthdate-correction/{request_id}"
