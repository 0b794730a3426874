"""What MirrorMaker 2 writes: record types, codecs, topic naming, and a reader for its topics."""
