from tests.report.conftest import demo, hostile  # noqa: F401  (shared module-scoped runs)
