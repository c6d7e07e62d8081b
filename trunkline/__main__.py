"""``python -m trunkline``: the same as the ``trunkline`` command."""

import sys

from trunkline.cli import main

sys.exit(main())
