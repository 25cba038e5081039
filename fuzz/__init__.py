"""Coverage-guided fuzz targets (atheris) for every parser of gun_core; see fuzz/README.md."""
