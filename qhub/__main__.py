"""``python -m qhub``: the same as the ``qhub`` console script."""

from qhub.cli import main

raise SystemExit(main())
