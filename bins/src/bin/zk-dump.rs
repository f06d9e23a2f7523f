//! zk-dump.
fn main() {}
