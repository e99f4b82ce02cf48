"""Names for test families that no other test family shares.

Name matching (FranceConnect, SMS registration, corrections) compares names
folded to the letters a-z, digits dropped: "Famille1a2b" and "Famille3a4b" are
then the same family. A tag made of letters keeps each family's names apart.
"""

from __future__ import annotations

import uuid


def letters_tag(length: int = 8) -> str:
    """Random letters (a-p), e.g. "kdpabhfe": unique enough for a test run."""
    return "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:length])
