"""What an agent's own screen shows: its permission box, the question it asks, its busy hint.

Pure functions over the plain text of a pane capture (``capture-pane -p``, Zellij
``dump-screen``): untrusted text, read here and never executed or rendered as markup. Approving
or denying from sessiontui answers the box the agent itself drew, by choosing the box's own
numbered option, so nothing is ever sent unless a fresh capture shows the box.

Observed on real runs (captures in ``tests/model/fixtures/panes/``; below, ``>`` stands for
the cursor glyph: U+276F for Claude, U+203A for Codex):

- Claude Code 2.1.197, under a solid rule line::

      Bash command
        sleep 1 && touch x
        Run a command
      Do you want to proceed?
      > 1. Yes
        2. Yes, and always allow access to project/ from this project
        3. No
      Esc to cancel · Tab to amend · ctrl+e to explain

- Claude Code 2.1.332 draws the command between dashed rules and offers four options
  (``3. Yes, and switch to auto mode …``, ``4. No``); narrow panes wrap option labels onto
  indented continuation lines. A digit pressed within a moment of the box appearing is ignored
  there (the cursor does not move); later it chooses the option at once, as on 2.1.197.
- Codex 0.171.0::

        Would you like to run the following command?
        Environment: local
        Reason: Create the marker?
        $ touch /tmp/project/m1
      > 1. Yes, proceed (y)
        2. Yes, and don't ask again for commands that start with `touch …` (p)
        3. No, and tell Codex what to do differently (esc)
        Press enter to confirm or esc to cancel

  A digit chooses the option at once. While a turn runs, the pane title starts with a braille
  spinner (``⠸ Greet | project``); Escape interrupts the turn (``turn_aborted``, reason
  ``interrupted``).
- While busy, Claude's footer says ``esc to interrupt`` (both versions); Escape interrupts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "PERMISSION_WAITS",
    "PermissionBox",
    "PromptOption",
    "dialog_text",
    "find_permission_box",
    "question_text",
    "shows_busy",
]

#: ``waitingFor`` values meaning "a permission box is shown": Claude's registry says
#: ``permission prompt``, a Codex row ``approval`` (SPEC 2.1, 2.3).
PERMISSION_WAITS: frozenset[str] = frozenset({"permission prompt", "approval"})

#: An option line: optional cursor (Claude U+276F, Codex U+203A), a number, a dot, the label.
#: Claude 2.1.197 drops the space after the dot when it wraps a long label (``2.Yes, and``).
_OPTION = re.compile(
    r"^(?P<indent>\s*)(?P<cursor>[\u276f\u203a>]\s*)?(?P<n>[1-9])\.(?:\s+|(?=[A-Z]))(?P<label>\S.*?)\s*$"
)
#: The questions a permission box asks (Claude "Do you want to proceed?", "Do you want to make
#: this edit to x?"; Codex "Would you like to run the following command?").
_QUESTION = re.compile(r"^(?:Do you want|Would you like)\b.*\?$")
#: A key shortcut at the end of a Codex option label: ``(y)``, ``(p)``, ``(esc)``.
_SHORTCUT = re.compile(r"\((?P<key>[a-z]|esc)\)$")
#: The top edge of Claude's box and of its input area: a solid horizontal rule.
_RULE = re.compile(r"^\s*[─━]{8,}\s*$")
#: Any rule line (solid, dashed, double), left out of compact text.
_ANY_RULE = re.compile(r"^\s*[─━╌╍┄┅┈┉═-]{8,}\s*$")
#: Lines between the question and the first option (Codex: environment, reason, command).
_MAX_QUESTION_GAP = 15
#: Non-blank lines allowed below the options (the box's hint line and a footer).
_MAX_LINES_BELOW = 4
#: Lines a dialog shown without a permission box may take, at most.
_MAX_DIALOG_LINES = 30
#: Lines near the bottom where Claude's footer shows ``esc to interrupt``.
_FOOTER_LINES = 6


@dataclass(frozen=True, slots=True)
class PromptOption:
    """One numbered option of a permission box.

    Attributes:
        number: The number shown (1-based); typing it chooses the option.
        label: The label, continuation lines joined with a space (untrusted text).
        shortcut: The key shown in parentheses at its end (Codex ``y``, ``p``, ``esc``), if any.
    """

    number: int
    label: str
    shortcut: str | None = None

    @property
    def key(self) -> str:
        """The key that chooses this option: its number."""
        return str(self.number)

    def __str__(self) -> str:
        return f"{self.number}. {self.label}"


@dataclass(frozen=True, slots=True)
class Answer:
    """What :func:`answer_prompt` chose.

    Attributes:
        approved: True for "Yes", False for "No".
        option: The box's own option that was chosen (its number and label).
        question: The box's question (``Do you want to proceed?``).
        confirmed_enter: ``Enter`` had to confirm the option (the digit only moved the cursor).
    """

    approved: bool
    option: PromptOption
    question: str
    confirmed_enter: bool = False

    @property
    def decision(self) -> str:
        """``approved`` or ``denied``."""
        return "approved" if self.approved else "denied"


@dataclass(frozen=True, slots=True)
class PermissionBox:
    """A permission box as the agent drew it.

    Attributes:
        question: The question line (``Do you want to proceed?``).
        options: The numbered options, in order (numbers 1, 2, … without gaps).
        selected: The number under the cursor, or ``None`` when no cursor is drawn.
        text: The whole box as plain text (header, command, question, options, hint),
            dedented, as drawn.
        yes: The first option whose label starts with "Yes" (approve once).
        no: The first option whose label starts with "No" (deny).
        context: The box's lines above the question (Claude: tool, command, description),
            stripped, without blank and rule lines.
        details: Its lines between the question and the options (Codex: environment,
            reason, command), likewise.
    """

    question: str
    options: tuple[PromptOption, ...]
    selected: int | None
    text: str
    yes: PromptOption
    no: PromptOption
    context: tuple[str, ...] = ()
    details: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """The box in few lines: context, question, details, one line per option."""
        options = (str(o) for o in self.options)
        return "\n".join((*self.context, self.question, *self.details, *options))

    def same_box(self, other: PermissionBox) -> bool:
        """True when ``other`` is this box with the cursor anywhere (same question and options)."""
        return self.question == other.question and self.options == other.options


def _lines(screen: str) -> list[str]:
    """The screen's lines without trailing blanks (line ends and trailing spaces removed)."""
    lines = [line.rstrip() for line in screen.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _option_block(lines: list[str], first: int) -> tuple[list[tuple[int, str, bool]], int] | None:
    """Read options 1, 2, … downward from ``lines[first]`` (which must be option 1).

    Continuation lines (indented at least as far as the label above them) join the label.

    Returns:
        ``([(number, label, has_cursor), …], index after the block)``, or ``None`` when
        fewer than two options follow each other.
    """
    options: list[tuple[int, str, bool]] = []
    index = first
    label_column = 0
    while index < len(lines):
        line = lines[index]
        match = _OPTION.match(line)
        if match is not None and int(match["n"]) == len(options) + 1:
            options.append((int(match["n"]), match["label"], match["cursor"] is not None))
            label_column = match.start("label")
            index += 1
            continue
        indent = len(line) - len(line.lstrip())
        if options and line.strip() and match is None and indent >= label_column:
            number, label, cursor = options[-1]
            options[-1] = (number, f"{label} {line.strip()}", cursor)
            index += 1
            continue
        break
    return (options, index) if len(options) >= 2 else None


def _find_question(lines: list[str], first_option: int) -> int | None:
    """Index of the permission question above ``first_option``, or ``None``."""
    for index in range(first_option - 1, max(-1, first_option - 1 - _MAX_QUESTION_GAP), -1):
        if _QUESTION.match(lines[index].strip()):
            return index
    return None


def _rule(line: str) -> bool:
    """True for a line drawn of box rules only."""
    return _ANY_RULE.match(line) is not None


def _dedent(lines: list[str]) -> str:
    """Join ``lines`` without their common leading spaces (blank lines kept, not counted)."""
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents, default=0)
    return "\n".join(line[cut:] for line in lines)


def find_permission_box(screen: str) -> PermissionBox | None:
    """Find the permission box an agent shows at the bottom of its pane.

    A box counts only when all of these hold (anything else is "not shown", so nothing is
    sent): a question of the known form (``Do you want …?``, ``Would you like …?``) at most
    :data:`_MAX_QUESTION_GAP` lines above consecutive options ``1.``, ``2.``, …; an option
    starting with "Yes" and one starting with "No"; at most :data:`_MAX_LINES_BELOW`
    non-blank lines below the options (the box is the live bottom of the screen, not old
    output).

    Args:
        screen: A pane capture, plain text.

    Returns:
        The box, or ``None`` when the screen shows none.
    """
    lines = _lines(screen)
    for first in range(len(lines) - 1, -1, -1):
        match = _OPTION.match(lines[first])
        if match is None or match["n"] != "1":
            continue
        block = _option_block(lines, first)
        if block is None:
            continue
        parsed, end = block
        below = [line for line in lines[end:] if line.strip()]
        if len(below) > _MAX_LINES_BELOW:
            return None  # the newest options are not the bottom of the screen
        question_at = _find_question(lines, first)
        if question_at is None:
            return None
        options = tuple(
            PromptOption(
                number=number,
                label=label,
                shortcut=(found["key"] if (found := _SHORTCUT.search(label)) else None),
            )
            for number, label, _ in parsed
        )
        yes = next((o for o in options if re.match(r"Yes\b", o.label)), None)
        no = next((o for o in options if re.match(r"No\b", o.label)), None)
        if yes is None or no is None:
            return None
        start = question_at
        for index in range(question_at - 1, max(-1, question_at - 1 - _MAX_QUESTION_GAP), -1):
            if _RULE.match(lines[index]):
                start = index + 1
                break
        shown = lines[start:]
        selected = next((number for number, _, cursor in parsed if cursor), None)

        def compact(part: list[str]) -> tuple[str, ...]:
            return tuple(line.strip() for line in part if line.strip() and not _rule(line))

        return PermissionBox(
            question=lines[question_at].strip(),
            options=options,
            selected=selected,
            text=_dedent(shown).strip("\n"),
            yes=yes,
            no=no,
            context=compact(lines[start:question_at]),
            details=compact(lines[question_at + 1 : first]),
        )
    return None


def dialog_text(screen: str) -> str | None:
    """The text of a dialog at the bottom of the pane: what lies below the last solid rule.

    Claude draws its dialogs (``/help``, questions) under a solid rule line; when there is
    none, or what lies below is empty or longer than :data:`_MAX_DIALOG_LINES`, the last
    lines of the screen stand in.

    Args:
        screen: A pane capture, plain text.

    Returns:
        Plain text, dedented, or ``None`` for an empty screen.
    """
    lines = _lines(screen)
    if not lines:
        return None
    below: list[str] = []
    for index in range(len(lines) - 1, -1, -1):
        if _RULE.match(lines[index]):
            below = lines[index + 1 :]
            break
    if not any(line.strip() for line in below) or len(below) > _MAX_DIALOG_LINES:
        below = [line for line in lines if line.strip()][-12:]
    kept: list[str] = []
    for line in below:
        if _rule(line) or (not line.strip() and (not kept or not kept[-1].strip())):
            continue  # rules, and blank lines after a blank line or at the top
        kept.append(line)
    return _dedent(kept).strip("\n") or None


def question_text(screen: str) -> str | None:
    """What a waiting agent asks, in few lines: its permission box, else the dialog shown.

    Args:
        screen: A pane capture, plain text.

    Returns:
        :attr:`PermissionBox.summary` when a box is shown, else :func:`dialog_text`.
    """
    box = find_permission_box(screen)
    return box.summary if box is not None else dialog_text(screen)


def shows_busy(agent: str, screen: str, title: str = "") -> bool:
    """True when the pane shows that the agent runs a turn it can interrupt.

    Claude's footer says ``esc to interrupt``; Codex's pane title starts with a braille
    spinner (and its status line may say ``esc to interrupt`` too).

    Args:
        agent: ``claude`` or ``codex`` (anything else: ``False``).
        screen: A pane capture, plain text.
        title: The pane's title (OSC 0/2), ``""`` when unknown.
    """
    tail = [line for line in _lines(screen) if line.strip()][-_FOOTER_LINES:]
    hint = any("esc to interrupt" in line.lower() for line in tail)
    if agent == "claude":
        return hint
    if agent == "codex":
        return hint or (bool(title) and "\u2801" <= title[0] <= "\u28ff")
    return False
