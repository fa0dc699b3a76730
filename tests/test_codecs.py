import json

import numcodecs
import pytest

from zarr_cryoet.store.codecs import CODEC_NAMES, get_codec
from zarr_cryoet.util.errors import UnknownCodecError

from .helpers import needs_zarr3


def test_registry_has_the_gallery_codecs():
    assert set(CODEC_NAMES) == {"none", "blosc-zstd", "blosc-lz4", "zstd", "gzip"}


def test_blosc_zstd_is_the_portal_compressor():
    assert get_codec("blosc-zstd").v2_compressor().get_config() == {
        "id": "blosc", "cname": "zstd", "clevel": 5, "shuffle": 1, "blocksize": 0}


@pytest.mark.parametrize("name", CODEC_NAMES)
def test_v2_compressor_is_numcodecs_or_none(name):
    compressor = get_codec(name).v2_compressor()
    assert compressor is None if name == "none" else isinstance(compressor, numcodecs.abc.Codec)


@needs_zarr3
@pytest.mark.parametrize("name", CODEC_NAMES)
def test_v3_codecs_match_the_v2_settings(name):
    codecs = get_codec(name).v3_compressors()
    if name == "none":
        assert codecs == []
        return
    (codec,) = codecs
    config = json.loads(json.dumps(codec.to_dict()))["configuration"]
    v2 = get_codec(name).v2_compressor().get_config()
    if name.startswith("blosc"):
        assert (config["cname"], config["clevel"], config["shuffle"]) == (v2["cname"], 5, "shuffle")
    else:
        assert config["level"] == v2["level"] == 5


@pytest.mark.parametrize("bad", ["lz5", "", "BLOSC-ZSTD", None, 3])
def test_unknown_codec_lists_the_valid_names(bad):
    with pytest.raises(UnknownCodecError) as err:
        get_codec(bad)
    message = str(err.value)
    assert "\n" not in message and "unknown codec" in message
    assert all(name in message for name in CODEC_NAMES)
