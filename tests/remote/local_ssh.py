"""A stand-in for the ``ssh`` client that reaches this machine: runs the remote command line.

``python local_ssh.py [ssh options] DEST -- COMMAND-LINE`` does what sshd does with the
command line OpenSSH sends: ``sh -c COMMAND-LINE`` (so the quoting the client applies is
checked by a real shell). Options and the destination are ignored. The real OpenSSH path is
tested with a real sshd (tests/e2e); this one lets the link and CLI tests run the real
``sessiontui serve --stdio`` without a server.
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
    os.execvp("sh", ["sh", "-c", command])


if __name__ == "__main__":
    main()
