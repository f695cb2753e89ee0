"""``python -m nncz.cli ARGS``: the ``nncz`` command without its console script."""

from nncz.cli import main

raise SystemExit(main())
