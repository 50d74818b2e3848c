"""Allow ``python -m pipeline.localnode start|stop|status``."""

import sys

from .cli import main

sys.exit(main())
