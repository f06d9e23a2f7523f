//! The state of one direction of a [`TlsStream`](super::TlsStream): its unprocessed bytes,
//! the handshake messages being reassembled, its key [`Epoch`] with the keys of that epoch,
//! and why it stopped before a record ([`Wait`]); plus what processing one record yields
//! ([`Step`], [`Stop`]) and the mapping between a [`Direction`] and a side's index.

use zkwire_jute::Direction;

use crate::cipher::RecordCipher;
use crate::TlsError;

/// Which keys protect a direction's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Epoch {
    Clear,
    /// TLS 1.2 after ChangeCipherSpec.
    Tls12,
    /// TLS 1.3 handshake traffic keys.
    Tls13Handshake,
    /// TLS 1.3 application traffic keys (generation 0, then KeyUpdates).
    Tls13Application,
}

/// Why a direction stopped before a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wait {
    No,
    /// The key log has no secret for the record's epoch yet.
    Keys,
    /// The other direction's hello must be processed first.
    Peer,
}

/// One direction of the connection.
pub(super) struct Side {
    /// Bytes not yet processed: a partial record, or records waiting (see `wait`).
    pub(super) buf: Vec<u8>,
    /// Handshake messages being reassembled (clear or decrypted).
    pub(super) hs: Vec<u8>,
    pub(super) records: u64,
    pub(super) epoch: Epoch,
    /// Keys of the current epoch, derived when first needed.
    pub(super) cipher: Option<RecordCipher>,
    /// TLS 1.2: this direction's Finished was decrypted.
    pub(super) finished: bool,
    pub(super) wait: Wait,
}

impl Side {
    pub(super) fn new() -> Side {
        Side {
            buf: Vec::new(),
            hs: Vec::new(),
            records: 0,
            epoch: Epoch::Clear,
            cipher: None,
            finished: false,
            wait: Wait::No,
        }
    }

    pub(super) fn enter(&mut self, epoch: Epoch) {
        self.epoch = epoch;
        self.cipher = None;
    }
}

/// What processing one record did.
pub(super) enum Step {
    Done,
    Wait(Wait),
    Stop(Stop),
}

/// Why the connection stops being decoded.
pub(super) enum Stop {
    Failed(TlsError),
    KeysMissing,
}

impl From<TlsError> for Stop {
    fn from(e: TlsError) -> Stop {
        Stop::Failed(e)
    }
}

/// The index in [`TlsStream`](super::TlsStream)'s sides of `dir`'s side.
pub(super) fn index(dir: Direction) -> usize {
    match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

/// The direction of side `side` (0: client to server; 1: server to client).
pub(super) fn direction(side: usize) -> Direction {
    if side == 0 {
        Direction::ToServer
    } else {
        Direction::ToClient
    }
}
