"""``python -m zarr_cryoet.cli``: the zarr-cryoet command."""

import sys

from zarr_cryoet.cli import main

sys.exit(main())
