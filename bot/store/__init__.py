"""Redis: the connection, every key, and one module per kind of record."""
