//! The benchmark driver that `scripts/bench` runs (work in progress).
fn main() {}
