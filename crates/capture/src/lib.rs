//! Packet capture core.
#![forbid(unsafe_code)]
