"""Errors shared by the index modules."""


class IndexFormatError(RuntimeError):
    """The index folder is missing, damaged, from another format version, or does not fit the settings."""
