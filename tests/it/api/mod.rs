//! Black-box tests of the HTTP API through `spawn_app()`.

mod conventions;
mod ops;
mod products;
