"""The library's internals: nothing here is API (see the package's ``__all__``)."""
