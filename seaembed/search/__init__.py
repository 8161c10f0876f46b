"""seaembed.search: the catalog index (faiss + BM25), hybrid-search fusion and its per-index tuning, filters."""
