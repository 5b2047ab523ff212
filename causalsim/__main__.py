"""``python -m causalsim``: the command line."""

from causalsim.cli import main

raise SystemExit(main())
