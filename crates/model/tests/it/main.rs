//! Integration tests of the model crate, in one binary (each test binary links all of burn).
//! They run on burn's pure-Rust CPU backend.

mod checkpoint;
mod fixture;
mod gradient;
mod parity;
mod pretrain;
mod sampling;
mod shard;
