"""OME-Zarr multiscale images as the CryoET Data Portal serves its tomograms.

The portal's tomograms (``s3_omezarr_dir``) are OME-Zarr images of NGFF 0.4 on zarr format 2: three
levels ``0``, ``1``, ``2``, each half the previous along every axis; 256³ chunks; nested chunk keys
(``/`` separator); Blosc-LZ4 at level 5 with byte shuffle; no consolidated metadata. They sit under
keys like :data:`PORTAL_KEY`. :func:`write_portal_image` writes one, from a volume, with or without a
``.zmetadata`` beside it (what a client saves by consolidating).

A level smaller than 256 voxels along an axis gets one chunk along it (the portal's chunks never
exceed its levels either: its smallest are still larger than 256³).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from zarr_cryoet.store import compat, stores

#: the portal's settings
PORTAL_CHUNK = 256
PORTAL_CODEC = "blosc-lz4"  # clevel 5, byte shuffle (zarr_cryoet.store.codecs)
LEVELS = 3
#: the voxel size of each level, in Å (a portal tomogram at 10.012 Å, binned by 2 and 4)
SCALES = (10.012, 20.024, 40.048)
#: where a tomogram lives in the portal's bucket: <dataset>/<run>/Reconstructions/VoxelSpacing…/Tomograms/<id>/
PORTAL_KEY = "10445/TS_01/Reconstructions/VoxelSpacing10.012/Tomograms/100/TS_01.zarr"


def levels_of(level0: np.ndarray) -> list[np.ndarray]:
    """Level 0 and its subsamplings by 2 and 4 (strided, as the tests' readers expect)."""
    return [level0[::2 ** i, ::2 ** i, ::2 ** i] for i in range(LEVELS)]


def multiscales(ngff_version: str = "0.4") -> list[dict]:
    """The ``multiscales`` attribute of an image of :data:`LEVELS` levels (NGFF 0.4 or 0.5)."""
    multiscale = {
        "name": "tomogram",
        "axes": [{"name": a, "type": "space", "unit": "angstrom"} for a in "zyx"],
        "datasets": [{"path": str(i), "coordinateTransformations": [{"type": "scale", "scale": [s] * 3}]}
                     for i, s in enumerate(SCALES[:LEVELS])],
    }
    if ngff_version == "0.4":
        multiscale["version"] = "0.4"
    return [multiscale]


def write_portal_image(root, volume: np.ndarray, *, consolidated: bool = False) -> Path:
    """Write ``volume`` as a portal OME-Zarr image at ``root`` (a new directory); ``consolidated`` adds ``.zmetadata``.

    Nothing is left at ``root`` if the write fails.
    """
    root = Path(root)
    with stores.removed_on_failure(root):
        root.mkdir(parents=True)
        metadata = {}
        for i, data in enumerate(levels_of(volume)):
            data = np.ascontiguousarray(data)
            chunks = tuple(min(PORTAL_CHUNK, n) for n in data.shape)
            settings = stores.prepare_write(root / str(i), data, stores.Layout(PORTAL_CODEC, chunks, 2))
            compat.create_array(root / str(i), **settings, separator_v2="/")[...] = data
            metadata[f"{i}/.zarray"] = json.loads((root / str(i) / ".zarray").read_text())
        group, attrs = {"zarr_format": 2}, {"multiscales": multiscales("0.4")}
        (root / ".zgroup").write_text(json.dumps(group))
        (root / ".zattrs").write_text(json.dumps(attrs))
        if consolidated:  # the layout zarr.consolidate_metadata writes, on either zarr
            metadata.update({".zgroup": group, ".zattrs": attrs})
            (root / ".zmetadata").write_text(json.dumps({"zarr_consolidated_format": 1, "metadata": metadata}))
    return root


def image_multiscale(group) -> dict:
    """The first ``multiscales`` entry of an OME-Zarr image's group (NGFF 0.4: in its attributes; 0.5: under ``ome``)."""
    attrs = dict(group.attrs)
    multiscales_ = attrs.get("multiscales") or attrs.get("ome", {}).get("multiscales")
    if not multiscales_:
        raise ValueError("the group has no OME-Zarr multiscales metadata; is it an OME-Zarr image?")
    return multiscales_[0]


def level_paths(group) -> list[str]:
    """The paths of an OME-Zarr image's levels, finest first, as its metadata lists them."""
    return [dataset["path"] for dataset in image_multiscale(group)["datasets"]]


def first_view(group) -> tuple[np.ndarray, np.ndarray]:
    """What a viewer does first: read the metadata, the coarsest level's middle XY plane, then level 0's."""
    paths = level_paths(group)
    coarse = group[paths[-1]]
    coarse_plane = coarse[coarse.shape[0] // 2]
    full = group[paths[0]]
    return coarse_plane, full[full.shape[0] // 2]
