"""Writing OME-Zarr images laid out like the CryoET Data Portal's, for tests."""

import json

import numpy as np

from zarr_cryoet.store.stores import Layout, write_store

# Like a CryoET Data Portal tomogram: three levels, each half the previous, in Å.
SCALES = (10.012, 20.024, 40.048)


def levels_of(level0):
    return [level0, level0[::2, ::2, ::2], level0[::4, ::4, ::4]]


def multiscales(ngff_version):
    multiscale = {
        "name": "tomogram",
        "axes": [{"name": a, "type": "space", "unit": "angstrom"} for a in "zyx"],
        "datasets": [{"path": str(i), "coordinateTransformations": [{"type": "scale", "scale": [s] * 3}]}
                     for i, s in enumerate(SCALES)],
    }
    if ngff_version == "0.4":
        multiscale["version"] = "0.4"
    return [multiscale]


def write_ome_zarr(root, level0, chunk_edge, zarr_format=2):
    """An OME-Zarr image: arrays "0", "1", "2" written by zarr, group metadata written as the spec says."""
    root.mkdir()
    for i, data in enumerate(levels_of(level0)):
        chunks = tuple(min(chunk_edge, n) for n in data.shape)
        write_store(root / str(i), np.ascontiguousarray(data), Layout("blosc-zstd", chunks, zarr_format))
    if zarr_format == 2:  # NGFF 0.4, as the portal serves it
        (root / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
        (root / ".zattrs").write_text(json.dumps({"multiscales": multiscales("0.4")}))
    else:  # NGFF 0.5
        (root / "zarr.json").write_text(json.dumps({
            "zarr_format": 3, "node_type": "group",
            "attributes": {"ome": {"version": "0.5", "multiscales": multiscales("0.5")}}}))
    return root
