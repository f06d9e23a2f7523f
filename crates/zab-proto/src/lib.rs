//! Decoders for the ZooKeeper quorum (ZAB) protocol spoken between servers on the quorum port.
//!
//! Not implemented yet: see the project's open issues.
#![forbid(unsafe_code)]
