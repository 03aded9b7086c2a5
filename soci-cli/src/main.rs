//! `socix`: build SOCI indexes and zTOCs.

fn main() {}
