import numpy as np
import pytest

from zarr_cryoet.data import sources
from zarr_cryoet.data.phantom import phantom_volume


def test_default_source_is_the_128_phantom(volume, monkeypatch):
    monkeypatch.delenv(sources.SOURCE_ENV, raising=False)
    assert sources.SourceRequest.from_env().spec == "phantom"
    assert np.array_equal(sources.load_source(), volume)


def test_phantom_size(monkeypatch):
    monkeypatch.setenv(sources.SOURCE_ENV, "phantom:24")
    loaded = sources.load_source(sources.SourceRequest.from_env().spec)
    assert loaded.shape == (24, 24, 24) and np.array_equal(loaded, phantom_volume(24))


@pytest.mark.parametrize("spec, problem", [
    ("phantom:big", "bad phantom size"),
    ("phantom:0", "bad phantom size"),
    ("tomogram.mrc", "unknown data source"),
])
def test_bad_specs(spec, problem):
    with pytest.raises(sources.InvalidSourceError, match=problem):
        sources.load_source(spec)


@pytest.fixture
def no_settings(monkeypatch):
    for var in (sources.SOURCE_ENV, sources.SIZE_ENV, sources.OFFSET_ENV, sources.LEVEL_ENV, sources.PORTAL_URL_ENV):
        monkeypatch.delenv(var, raising=False)


def test_the_environment_is_read_like_the_command_line(no_settings, monkeypatch):
    monkeypatch.setenv(sources.SOURCE_ENV, "zarr:/data/tomo.zarr")
    monkeypatch.setenv(sources.SIZE_ENV, "64,128,128")
    monkeypatch.setenv(sources.OFFSET_ENV, "0,0,0")
    monkeypatch.setenv(sources.LEVEL_ENV, "1")
    monkeypatch.setenv(sources.PORTAL_URL_ENV, "http://127.0.0.1:1/graphql")
    assert sources.SourceRequest.from_env() == sources.SourceRequest(
        "zarr", "/data/tomo.zarr", (64, 128, 128), (0, 0, 0), 1, "http://127.0.0.1:1/graphql")
    monkeypatch.setenv(sources.SIZE_ENV, "full")
    assert sources.SourceRequest.from_env().size is None


@pytest.mark.parametrize("var, value, problem", [
    (sources.SOURCE_ENV, "bogus:1", "$ZARR_CRYOET_SOURCE: unknown data source 'bogus:1'"),
    (sources.SOURCE_ENV, "portal:abc", "$ZARR_CRYOET_SOURCE: bad portal dataset"),
    (sources.SIZE_ENV, "0", "$ZARR_CRYOET_SIZE: bad crop size '0'"),
    (sources.OFFSET_ENV, "-1", "$ZARR_CRYOET_OFFSET: bad crop offset '-1'"),
    (sources.LEVEL_ENV, "1.5", "$ZARR_CRYOET_LEVEL: bad multiscale level '1.5'"),  # once silently ignored
    (sources.PORTAL_URL_ENV, "ftp://x", "$ZARR_CRYOET_PORTAL_URL: 'ftp://x' is not an http(s) URL"),
])
def test_a_bad_setting_names_its_variable(no_settings, monkeypatch, var, value, problem):
    monkeypatch.setenv(var, value)
    with pytest.raises(sources.InvalidSourceError) as info:
        sources.SourceRequest.from_env()
    assert str(info.value).startswith(problem) and "\n" not in str(info.value)


def test_the_default_dataset_is_defined_once(no_settings):
    import ast
    import pathlib

    from zarr_cryoet import cli
    from zarr_cryoet.data import portal

    assert portal.DEFAULT_DATASET is sources.DEFAULT_DATASET == 10445
    assert sources.SourceRequest.parse("portal:").target == "10445"
    assert cli.build_parser().parse_args(["fetch"]).source == "portal:10445"
    root = pathlib.Path(sources.__file__).resolve().parent.parent
    for module in (*sorted((root / "cli").glob("*.py")), root / "data" / "portal.py", root / "data" / "sources.py",
                   root / "data" / "request.py"):
        code = [n for n in ast.walk(ast.parse(module.read_text())) if isinstance(n, ast.Constant)
                and n.value in (10445, "10445") and not isinstance(n.value, bool)]
        assert [n.value for n in code] == ([10445] if module.name == "request.py" else []), module


def test_sources_do_not_import_the_portal_client():
    import subprocess
    import sys

    code = "import sys, zarr_cryoet.data.sources; print('cryoet_data_portal' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_check_needs_no_input_for_the_phantom_and_an_existing_path(tmp_path):
    assert sources.check(sources.SourceRequest.parse("phantom:24")) == "data: phantom 24³ float32 (generated here)"
    with pytest.raises(sources.InvalidSourceError, match="does not exist; give the path of an existing MRC file"):
        sources.check(sources.SourceRequest.parse(f"mrc:{tmp_path / 'nope.mrc'}"))


@pytest.mark.parametrize("record, expected", [
    ({"voxel_size": 10.012}, 10.012),
    ({"voxel_size": [7.5, 7.5, 7.5]}, 7.5),
    ({"voxel_size": [7.5, 7.5, 10.0]}, None),  # anisotropic: no single number
    ({"voxel_spacing": 13.48}, 13.48),  # the portal's metadata
    ({"voxel_size": 0}, None), ({}, None), (None, None),
])
def test_one_voxel_size_in_angstrom(record, expected):
    from zarr_cryoet.data.provenance import voxel_size_angstrom

    assert voxel_size_angstrom(record) == expected


def _write_mrc(path, volume, voxel_size=7.5):
    import mrcfile

    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(volume.astype(np.float32))
        mrc.voxel_size = voxel_size
    return path


def test_a_pair_of_half_maps_is_one_source_whose_volume_is_their_average(tmp_path, no_settings, monkeypatch):
    from zarr_cryoet.data.phantom import make_phantom

    even, odd = make_phantom(24, halves=True).halves
    spec = f"halves:mrc:{_write_mrc(tmp_path / 'even.mrc', even)},mrc:{_write_mrc(tmp_path / 'odd.mrc', odd)}"
    request = sources.SourceRequest.parse(spec, size="16")
    assert request.kind == "halves" and request.spec == spec
    assert [h.spec for h in request.half_requests()] == [f"mrc:{tmp_path / 'even.mrc'}", f"mrc:{tmp_path / 'odd.mrc'}"]
    assert all(h.size == 16 for h in request.half_requests())  # the same crop of both
    monkeypatch.setenv(sources.SOURCE_ENV, spec)
    monkeypatch.setenv(sources.SIZE_ENV, "16")
    assert sources.SourceRequest.from_env() == request  # it travels to asv's processes as any source
    assert request.environment({})[sources.SOURCE_ENV] == spec
    loaded = sources.load(request)
    assert loaded.volume.shape == (16, 16, 16) and loaded.truth is None
    crop = (slice(4, 20),) * 3
    assert np.array_equal(loaded.halves[0], even[crop]) and np.array_equal(loaded.halves[1], odd[crop])
    np.testing.assert_allclose(loaded.volume, (even[crop].astype(np.float64) + odd[crop]) / 2, rtol=1e-6)
    assert loaded.provenance["source"] == spec and len(loaded.provenance["halves"]) == 2
    assert request.identity().startswith("halves:mrc:") and request.identity().endswith("16³@centre float32")
    assert sources.check(request).startswith(f"data: {request.identity()} (mrc:")


@pytest.mark.parametrize("spec, problem", [
    ("halves:mrc:a.mrc", "needs exactly two half maps"),
    ("halves:mrc:a.mrc,mrc:b.mrc,mrc:c.mrc", "needs exactly two half maps"),
    ("halves:phantom,phantom:32", "each half must be mrc:PATH"),
    ("halves:mrc:a.mrc,mrc:a.mrc", "names the same file twice"),
    ("halves:mrc:a.mrc,tomo.mrc", "unknown data source"),
])
def test_a_bad_pair_of_half_maps_says_how_to_write_one(spec, problem):
    with pytest.raises(sources.InvalidSourceError, match=problem) as info:
        sources.SourceRequest.parse(spec)
    assert "\n" not in str(info.value)


def test_half_maps_of_different_shapes_are_refused(tmp_path):
    spec = (f"halves:mrc:{_write_mrc(tmp_path / 'e.mrc', np.zeros((20, 20, 20)))},"
            f"mrc:{_write_mrc(tmp_path / 'o.mrc', np.zeros((12, 20, 20)))}")
    with pytest.raises(sources.InvalidSourceError, match="the half maps differ in shape"):
        sources.load(sources.SourceRequest.parse(spec, size="full"))
    with pytest.raises(sources.InvalidSourceError, match="does not exist"):
        sources.check(sources.SourceRequest.parse(f"halves:mrc:{tmp_path / 'e.mrc'},mrc:{tmp_path / 'nope.mrc'}"))
