//! End-to-end tests of the pipelines/ scripts (written by the pipelines work).
