import numpy as np
import pytest

from zarr_cryoet.data.phantom import phantom_volume


@pytest.fixture(scope="session")
def volume():
    """The default 128³ phantom (read-only, shared by the whole session)."""
    vol = phantom_volume()
    vol.setflags(write=False)
    return vol


@pytest.fixture
def small_volume():
    return np.random.default_rng(1).normal(0, 1e-5, (32, 40, 48)).astype(np.float32)


@pytest.fixture(scope="session")
def asv_run(tmp_path_factory):
    """The whole suite run once by real asv (--quick) and published: (config, directory, outputs)."""
    from tests.asv_helpers import run_suite

    return run_suite(tmp_path_factory.mktemp("asv"))
