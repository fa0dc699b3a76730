import numpy as np
import pytest

from zarr_cryoet.data import sources
from zarr_cryoet.data.phantom import phantom_volume


def test_default_source_is_the_128_phantom(volume, monkeypatch):
    monkeypatch.delenv(sources.SOURCE_ENV, raising=False)
    assert sources.source_from_env() == "phantom"
    assert np.array_equal(sources.load_source(), volume)


def test_phantom_size(monkeypatch):
    monkeypatch.setenv(sources.SOURCE_ENV, "phantom:24")
    loaded = sources.load_source(sources.source_from_env())
    assert loaded.shape == (24, 24, 24) and np.array_equal(loaded, phantom_volume(24))


@pytest.mark.parametrize("spec, problem", [
    ("phantom:big", "bad phantom size"),
    ("phantom:0", "bad phantom size"),
    ("tomogram.mrc", "unknown data source"),
])
def test_bad_specs(spec, problem):
    with pytest.raises(sources.InvalidSourceError, match=problem):
        sources.load_source(spec)
