//! The `partnerhub` package's library: the one app builder (`app`) that the binary's commands and the integration
//! tests' harness share, so that the tests run the application as `serve` wires it.

pub mod app;
