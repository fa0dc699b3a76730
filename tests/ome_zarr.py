"""Writing OME-Zarr images laid out like the CryoET Data Portal's, for tests."""

import json

import numpy as np

from zarr_cryoet.data.ome_zarr import SCALES, levels_of, multiscales  # noqa: F401 (the tests import them here)
from zarr_cryoet.store.stores import Layout, write_store


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
