"""``python -m sweattest.bench.station``: the bench station's process (``sweattest.bench.station.process``)."""

import sys

from sweattest.bench.station.process import main

sys.exit(main())
