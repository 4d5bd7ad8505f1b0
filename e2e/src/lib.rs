//! Nothing to build: the tests live in `tests/`, run by `e2e/run`.
