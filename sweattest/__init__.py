"""sweattest: software for the cystic-fibrosis sweat-test laboratory."""

__version__ = "0.1.0"
