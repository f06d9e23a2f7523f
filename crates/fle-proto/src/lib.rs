//! Decoders for ZooKeeper's FastLeaderElection protocol spoken on the election port.
//!
//! Not implemented yet: see the project's open issues.
#![forbid(unsafe_code)]
