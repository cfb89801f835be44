"""One spider per source; each discovers transcripts the way the live site allows."""
