"""The pane parsers on screens captured from real agents (``tests/model/fixtures/panes/``).

Claude Code 2.1.197 and 2.1.332 and Codex 0.171.0 were run offline against the loopback fakes
in ``tests/fakes/`` in a 120x40 tmux pane (and resized to 60x30 for the wrapped boxes); the
files are ``capture-pane -p`` output, titles are ``#{pane_title}``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sessiontui.model.prompts import (
    dialog_text,
    find_permission_box,
    question_text,
    shows_busy,
)

PANES = Path(__file__).parent / "fixtures" / "panes"
#: Claude's cursor glyph (U+276F); Codex draws U+203A.
C = "\u276f"


def screen(name: str) -> str:
    return (PANES / name).read_text(encoding="utf-8")


def title(name: str) -> str:
    path = PANES / name.replace(".txt", ".title")
    return path.read_text(encoding="utf-8") if path.exists() else ""


@pytest.mark.parametrize(
    ("name", "labels", "yes", "no"),
    [
        (
            "claude-197-permission-120x40.txt",
            ["Yes", "Yes, and always allow access to project/ from this project", "No"],
            1,
            3,
        ),
        (
            "claude-197-permission-60x30.txt",  # wrapped: "2.Yes, and …" then "project"
            ["Yes", "Yes, and always allow access to project/ from this project", "No"],
            1,
            3,
        ),
        ("claude-332-permission-120x40.txt", None, 1, 4),
        ("claude-332-permission-60x30.txt", None, 1, 4),
        (
            "codex-0171-approval-120x40.txt",
            None,
            1,
            3,
        ),
        ("codex-0171-approval-60x30.txt", None, 1, 3),
    ],
)
def test_permission_boxes_of_real_agents(
    name: str, labels: list[str] | None, yes: int, no: int
) -> None:
    box = find_permission_box(screen(name))

    assert box is not None
    assert (box.yes.number, box.no.number) == (yes, no)
    assert box.yes.key == str(yes)
    assert box.selected == 1  # the cursor starts on the first option
    assert [o.number for o in box.options] == list(range(1, len(box.options) + 1))
    if labels is not None:
        assert [o.label for o in box.options] == labels
    assert box.question in box.text
    assert all(o.label.split()[0] in box.text for o in box.options)


def test_claude_332_has_four_options_and_its_own_wording() -> None:
    for name in ("claude-332-permission-120x40.txt", "claude-332-permission-60x30.txt"):
        box = find_permission_box(screen(name))
        assert box is not None
        assert box.question == "Do you want to proceed?"
        assert len(box.options) == 4
        assert box.options[2].label.startswith("Yes, and switch to auto mode")
        assert box.no.label == "No"
        assert box.text.splitlines()[0].strip() == "Bash command"  # from the box's top rule
        assert "sleep 1 && touch x1" in box.text
        assert box.text.splitlines()[-1].strip() == "Esc to cancel · Tab to amend"


def test_codex_options_carry_their_shortcuts() -> None:
    box = find_permission_box(screen("codex-0171-approval-60x30.txt"))
    assert box is not None
    assert box.question == "Would you like to run the following command?"
    assert [o.shortcut for o in box.options] == ["y", "p", "esc"]
    assert box.options[1].label.endswith("`touch /tmp/reply-scratch/codex/project/m5` (p)")
    assert "Reason: Create the marker?" in box.text
    assert box.text.splitlines()[-1].strip() == "Press enter to confirm or esc to cancel"


@pytest.mark.parametrize(
    "name",
    [
        "claude-197-idle-120x40.txt",
        "claude-197-busy-120x40.txt",
        "claude-197-help-dialog-120x40.txt",
        "claude-197-after-interrupt-120x40.txt",
        "claude-332-idle-120x40.txt",
        "claude-332-busy-120x40.txt",
        "claude-332-help-dialog-120x40.txt",
        "codex-0171-idle-120x40.txt",
        "codex-0171-busy-120x40.txt",
        "codex-0171-after-deny-120x40.txt",
    ],
)
def test_no_box_on_other_screens(name: str) -> None:
    assert find_permission_box(screen(name)) is None


def test_a_box_scrolled_up_by_later_output_is_not_the_live_box() -> None:
    old = screen("claude-197-permission-120x40.txt").rstrip("\n")
    later = "\n".join(f"later output line {n}" for n in range(8))
    assert find_permission_box(f"{old}\n{later}") is None


@pytest.mark.parametrize(
    "text",
    [
        # Numbered options without a "No": a question to the user, not a permission box.
        f"Which one?\n{C} 1. Red\n  2. Blue\n",
        f"Do you want to proceed?\n{C} 1. Yes\n  2. Yes, always\n",
        # Options with no permission question above them.
        "Steps:\n 1. Yes we can\n 2. No we cannot\n",
        # Not consecutive.
        f"Do you want to proceed?\n{C} 1. Yes\n  3. No\n",
        # Markup and escapes are text, never structure.
        f"[bold]Do you want to proceed?[/bold]\n{C} 1. [red]Yes\n  2. No\n",
        "",
    ],
)
def test_look_alikes_are_not_boxes(text: str) -> None:
    assert find_permission_box(text) is None


def test_a_box_with_markup_in_its_labels_keeps_them_as_text() -> None:
    box = find_permission_box(
        f"Do you want to proceed?\n{C} 1. Yes [bold]now[/]\n  2. No \x1b]0;x\n"
    )
    assert box is not None
    assert box.yes.label == "Yes [bold]now[/]"
    assert box.no.label == "No \x1b]0;x"


@pytest.mark.parametrize(
    ("agent", "name", "busy"),
    [
        ("claude", "claude-197-busy-120x40.txt", True),
        ("claude", "claude-332-busy-120x40.txt", True),
        ("claude", "claude-197-idle-120x40.txt", False),
        ("claude", "claude-332-idle-120x40.txt", False),
        ("claude", "claude-197-after-interrupt-120x40.txt", False),
        ("claude", "claude-332-after-interrupt-120x40.txt", False),
        ("claude", "claude-197-permission-120x40.txt", False),
        ("codex", "codex-0171-busy-120x40.txt", True),
        ("codex", "codex-0171-busy-early-120x40.txt", True),
        ("codex", "codex-0171-idle-120x40.txt", False),
        ("codex", "codex-0171-after-interrupt-120x40.txt", False),
        ("codex", "codex-0171-approval-120x40.txt", False),  # "[ . ] Action Required | …"
        ("other", "claude-197-busy-120x40.txt", False),
    ],
)
def test_busy_hint(agent: str, name: str, busy: bool) -> None:
    assert shows_busy(agent, screen(name), title(name)) is busy


def test_question_text_is_the_box_in_few_lines_or_the_dialog() -> None:
    box = question_text(screen("claude-197-permission-120x40.txt"))
    assert box == (
        "Bash command\nsleep 1 && touch x1\nRun a command\nDo you want to proceed?\n"
        "1. Yes\n2. Yes, and always allow access to project/ from this project\n3. No"
    )
    codex = question_text(screen("codex-0171-approval-60x30.txt"))
    assert codex is not None
    assert codex.splitlines()[:4] == [
        "Would you like to run the following command?",
        "Environment: local",
        "Reason: Create the marker?",
        "$ touch /tmp/reply-scratch/codex/project/m5",
    ]
    assert codex.splitlines()[-1] == "3. No, and tell Codex what to do differently (esc)"
    help_text = question_text(screen("claude-332-help-dialog-120x40.txt"))
    assert help_text is not None
    assert help_text.startswith("Help")
    assert help_text.splitlines()[-1].strip() == "←/→ to switch · Esc to close"
    assert dialog_text("") is None
    assert dialog_text("just text\n") == "just text"
