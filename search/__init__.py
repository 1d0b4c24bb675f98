"""Search: the SearchIndex interface, its backends (chosen by URL scheme) and documents."""
