"""Allow ``python -m sessiontui``."""

from sessiontui.entry import main

raise SystemExit(main())
