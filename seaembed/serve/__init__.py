"""seaembed.serve: the HTTP server (OpenAI-compatible embeddings, /search, the search page) and its load generator."""
