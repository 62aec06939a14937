"""The API's resources: one module per collection (its filters, sorts and includes), plus the
index, units and search (index.py) and the contract and its docs (docs.py).

COLLECTIONS holds the Collection of each record type in api/registry.py, in its order: a
record type's resource is the module named after its collection, which defines `collection`.
"""

import importlib

from api.registry import RECORD_TYPES

COLLECTIONS = {record_type.name: importlib.import_module(f"{__name__}.{record_type.name}").collection for record_type in RECORD_TYPES}
