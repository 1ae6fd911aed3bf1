"""Allow ``python -m sessiontui``."""

from sessiontui.cli import main

raise SystemExit(main())
