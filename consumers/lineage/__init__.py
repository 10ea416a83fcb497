"""The lineage graph, written once for every projector: the facts an event implies, how they are stored, how they are read."""
