"""The dev stack's printed tables give every login and password whole, also
when its output goes to a file or a pipe (not a terminal), where the console
would otherwise cut cells at 80 columns."""

import io
import re

from educonnect.devtools.demo_data import demo_staff, generate
from educonnect.devtools.stack import NON_TERMINAL_WIDTH, console_for, demo_accounts_table


def test_staff_logins_and_passwords_are_printed_whole_outside_a_terminal():
    staff = demo_staff(generate(n_pupils=20))
    out = io.StringIO()  # not a terminal
    console = console_for(out)
    console.print(demo_accounts_table([(s.login, s.password, s.label) for s in staff]))
    printed = out.getvalue()
    assert console.width == NON_TERMINAL_WIDTH
    for s in staff:
        row = next(line for line in printed.splitlines() if s.login in line)
        assert s.password in row, row
    assert "…" not in printed


def test_a_narrow_terminal_folds_a_login_rather_than_cutting_it():
    login = "ce.0690041v@ac-lyon.example.fr"

    class NarrowTerminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = NarrowTerminal()
    console = console_for(out)
    console.width = 40
    console.print(demo_accounts_table([(login, "Pa55word!Pa55word", "Personnel")]))
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())
    folded = "".join(
        line.split("│")[1].strip() for line in plain.splitlines() if line.count("│") >= 2
    )
    assert login in folded
    assert "…" not in plain
