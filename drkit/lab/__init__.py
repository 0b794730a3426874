"""A real local lab: two single-node KRaft clusters with MirrorMaker 2 between them (and BIND 9)."""
