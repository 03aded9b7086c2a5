//! Inputs for the workspace's criterion benchmarks.
