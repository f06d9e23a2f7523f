//! End-to-end tests for zkwire live under `tests/`; this library is empty.
