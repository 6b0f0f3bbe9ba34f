"""embedlab: a reproducible research workbench for word and sentence embeddings."""
__version__ = "0.1.0"
