//! Compile-fail and compile-pass tests of the sayiir macros live in `tests/ui`.
