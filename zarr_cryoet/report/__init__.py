"""Tables and figures from asv results, and figures of the data."""

from zarr_cryoet.report.core import *  # noqa: F401,F403
from zarr_cryoet.report.core import report  # noqa: F401
