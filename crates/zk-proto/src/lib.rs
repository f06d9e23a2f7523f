//! Zero-copy decoders and encoders for the Apache ZooKeeper client protocol.
#![forbid(unsafe_code)]
