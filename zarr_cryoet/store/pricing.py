"""What storing and requesting objects costs: one price table (``s3_prices.json``, with its source and date), and the
arithmetic from measured bytes and request counts to money.

The table is the only place a price lives; :func:`load` reads it (or another file of the same form, for another
provider or tier). :class:`Prices` turns what the suite counted into cost: bytes stored per month, requests by kind
(S3 bills ``PUT``, ``POST``, ``COPY`` and ``LIST`` at one rate and ``GET`` and the rest at another), and bytes
transferred out of the provider's network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from zarr_cryoet.util.errors import ZarrCryoetError

PRICES_FILE = Path(__file__).with_name("s3_prices.json")


class PriceTableError(ZarrCryoetError, ValueError):
    """A price table that cannot be read."""


@dataclass(frozen=True)
class Prices:
    """A provider's prices (see ``s3_prices.json`` for the fields)."""

    name: str
    source: str
    as_of: str
    currency: str
    storage_per_gb_month: float
    per_1000_requests: dict
    default_per_1000_requests: float
    transfer_out_per_gb: float
    gb: float = 1e9

    def storage(self, stored_bytes: float, months: float = 1.0) -> float:
        """Keeping ``stored_bytes`` for ``months``."""
        return stored_bytes / self.gb * self.storage_per_gb_month * months

    def requests(self, counts: dict) -> float:
        """Requests by kind (the proxy's kinds: ``PUT``, ``GET``, ``ranged GET``, ``HEAD``, ``LIST``, ...)."""
        return sum(n / 1000 * self.per_1000_requests.get(kind, self.default_per_1000_requests)
                   for kind, n in counts.items())

    def transfer_out(self, fetched_bytes: float) -> float:
        """Moving ``fetched_bytes`` out of the provider's network (a reader outside its region)."""
        return fetched_bytes / self.gb * self.transfer_out_per_gb

    @property
    def citation(self) -> str:
        return f"{self.name} list prices, {self.as_of.split(' ')[0]} ({self.source.split(' ')[0]})"


def load(path: Path | str = PRICES_FILE) -> Prices:
    """The price table at ``path`` (default: the suite's S3 Standard table)."""
    try:
        table = json.loads(Path(path).read_text())
        return Prices(**{k: table[k] for k in Prices.__dataclass_fields__ if k in table})
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise PriceTableError(f"price table {path} cannot be read ({err}); give a JSON file with the fields of "
                              f"{PRICES_FILE.name}") from None
