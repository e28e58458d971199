"""Run the kwxmap command line: ``python -m kwxmap``."""

import sys

from .cli import main

sys.exit(main())
