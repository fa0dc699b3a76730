"""Zarr stores: codecs, layouts, writing and inspecting stores, access geometry, HTTP serving and request counting."""
