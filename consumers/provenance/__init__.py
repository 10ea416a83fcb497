"""The provenance read model: the lineage graph of lots and products, holders, and timelines."""
