"""``python -m ngrad`` runs the ``ngrad`` command."""
import sys

from ngrad.cli import main

sys.exit(main())
