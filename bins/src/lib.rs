//! Plumbing shared by the zkwire binaries (`zk-dump`, `zk-top` and the other tools):
//! the common command-line options for choosing input, opening files or interfaces, progress
//! and the end-of-run summary, colours and timestamps, and exit codes.
//!
//! The binaries themselves stay thin: each one is argument parsing plus a
//! [`zkwire_capture::StreamHandler`] that decodes its protocol.

/// Message objects, strings and small tables are made and dropped for every packet that is
/// printed; mimalloc serves that pattern markedly faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod analysis;
pub mod daemon;
pub mod fle;
pub mod holdback;
pub mod input;
mod intern;
pub mod lazy;
pub mod line;
pub mod output;
pub mod ports;
mod samples;
pub mod tls;
pub mod top;
pub mod trace;
pub mod zab;
pub mod zk;

#[cfg(test)]
mod test_support;

/// Exit codes shared by every zkwire tool.
pub mod exit {
    /// Everything read and decoded.
    pub const OK: i32 = 0;
    /// The input could not be opened or nothing in it could be read (missing file, not a
    /// capture, no permission, bad interface or filter). A capture that is damaged or cut short
    /// after readable packets exits 0 with a warning naming the byte offset.
    pub const FATAL: i32 = 1;
    /// Wrong command-line usage (what clap exits with).
    pub const USAGE: i32 = 2;
}
