//! `creatorflow-sim`: marketplace simulators for tests, benchmarks and demos.
fn main() {}
