"""``python -m clusterlens``: the command line (:mod:`clusterlens.cli`)."""
import sys

from .cli import main

sys.exit(main())
