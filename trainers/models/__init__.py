"""Model families, one per file. :mod:`trainers.registry` lists them by name."""
