"""A stand-in for the ``ssh`` client that reaches this machine: runs the remote command line.

``python local_ssh.py [ssh options] DEST -- COMMAND-LINE`` does what sshd does with the
command line OpenSSH sends: ``sh -c COMMAND-LINE``, without ``TMUX`` in its environment (so
the quoting the client applies is checked by a real shell). Options and the destination are
ignored. The real OpenSSH path is tested with a real sshd (tests/e2e); this one lets the link
and CLI tests run the real ``sessiontui serve --stdio`` without a server.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Exec ``sh -c`` on everything after ``--``; exit 255 (ssh's own failure) without it."""
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.stderr.write("local_ssh: no -- in the arguments\n")
        sys.exit(255)
    command = " ".join(argv[argv.index("--") + 1 :])
    # sshd starts the command in a fresh login environment: no tmux client of ours in it.
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    os.execvpe("sh", ["sh", "-c", command], env)


if __name__ == "__main__":
    main()
