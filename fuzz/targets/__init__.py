"""One module per fuzz target; each has ``check(data: bytes) -> None`` and runs under atheris as ``__main__``."""
