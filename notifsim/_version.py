"""notifsim's version, kept apart so that reading it imports nothing else."""

__version__ = "0.2.0"
