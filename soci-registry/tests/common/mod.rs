//! Test support only these tests need; the rest is `soci_registry::testing`.

pub mod faults;
