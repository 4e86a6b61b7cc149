"""`python -m sweattest` is the same as the `sweattest` command."""

from sweattest.cli.main import main

raise SystemExit(main())
