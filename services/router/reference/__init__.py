"""The router's reference registry: places, authorities and facilities, as versioned data.

Loaded from a reference directory (GeoJSON boundaries + CSV registry tables, the shape of
``../shared/data``) into memory with spatial indexes.
"""
