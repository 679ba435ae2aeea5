"""The oracles are importable at the pinned versions."""


def test_oracles_import():
    import deltalake  # noqa: F401
    import duckdb  # noqa: F401
    import followthemoney  # noqa: F401
    import ftm_lakehouse  # noqa: F401
    import pyarrow  # noqa: F401
