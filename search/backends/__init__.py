"""Search backends: ``embedded`` (tantivy, in the data dir) and, for scale, Meilisearch."""
