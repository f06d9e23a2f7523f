//! [`TlsStream`]: the sans-IO state machine of one TLS connection. It frames each
//! direction's bytes into records, follows the clear handshake, decrypts records once the key
//! log has their secrets (holding them, bounded, until it does) and reports
//! [`TlsEvent`]s in stream order.
//!
//! Per direction the records pass through key epochs: clear, then TLS 1.2 keys after
//! ChangeCipherSpec, or TLS 1.3 handshake keys after ServerHello and application keys after
//! that direction's Finished (renewed by each KeyUpdate). A direction that meets a record it
//! cannot decrypt yet stops there and keeps the bytes; nothing after it is looked at, so
//! records are always decrypted in order with the right sequence numbers.
//!
//! The machine is split by role:
//! * this module: the public [`TlsStream`] and the loop that frames records, makes a direction
//!   wait for its peer's hello, and stops the connection;
//! * [`side`]: one direction's state (buffers, key epoch, why it waits);
//! * [`clear`]: records before encryption — the hellos, the server's certificate,
//!   ServerHelloDone and TLS 1.2's ChangeCipherSpec;
//! * [`messages`]: reassembling handshake messages and handling them by epoch, including the
//!   protected ones (TLS 1.2 Finished, TLS 1.3 EncryptedExtensions, Finished, KeyUpdate);
//! * [`protected`]: records under keys — deriving an epoch's keys from the key log,
//!   decrypting, and reporting the plaintext.

mod clear;
mod messages;
mod protected;
mod side;

use zkwire_jute::Direction;

use crate::handshake::Handshake;
use crate::keylog::KeyLog;
use crate::record::{self, RecordHeader};
use crate::suites::Suite;
use crate::{TlsError, TlsEvent};

use side::{index, Epoch, Side, Step, Stop, Wait};

/// Bytes held per connection (both directions) while keys are missing; past this the
/// connection is given up ([`TlsEvent::KeysMissing`]).
pub const MAX_HELD_BYTES: usize = 1 << 20;
/// The longest handshake message followed (certificate chains are the long ones).
pub const MAX_HANDSHAKE_MESSAGE: usize = 64 << 10;

// Record content types, shared by the clear and the protected records.
const CONTENT_CCS: u8 = 20;
const CONTENT_ALERT: u8 = 21;
const CONTENT_HANDSHAKE: u8 = 22;
const CONTENT_APPDATA: u8 = 23;

/// One TCP connection carrying TLS, both directions. Sans-IO: push in-order bytes, get events.
///
/// TLS 1.2 and 1.3 are decrypted (see the crate docs for the suites); SSL 3.0, TLS 1.0 and
/// 1.1 end in [`TlsError::UnsupportedVersion`]. A capture gap in either direction ends the
/// decoding of the whole connection ([`TlsError::Gap`]): without the lost records the
/// sequence numbers, and the ZooKeeper framing above, are lost too. TLS 1.3 early data is not
/// decrypted: a client offering it whose first protected record fails authentication ends in
/// [`TlsError::EarlyData`].
pub struct TlsStream {
    hs: Handshake,
    /// Index 0: client to server; 1: server to client.
    sides: [Side; 2],
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    suite: Option<Suite>,
    tls13: bool,
    encrypt_then_mac: bool,
    early_data_offered: bool,
    client_hellos: u32,
    server_hellos: u32,
    /// A ServerHello other than a HelloRetryRequest was processed.
    server_hello_seen: bool,
    server_hello_done: bool,
    handshake_reported: bool,
    stopped: bool,
}

impl Default for TlsStream {
    fn default() -> Self {
        TlsStream::new()
    }
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No keys, randoms or buffered bytes: only the public state.
        f.debug_struct("TlsStream")
            .field("handshake", &self.hs)
            .field("held_bytes", &self.held_bytes())
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

impl TlsStream {
    /// A connection before its first byte.
    pub fn new() -> TlsStream {
        TlsStream {
            hs: Handshake::default(),
            sides: [Side::new(), Side::new()],
            client_random: None,
            server_random: None,
            suite: None,
            tls13: false,
            encrypt_then_mac: false,
            early_data_offered: false,
            client_hellos: 0,
            server_hellos: 0,
            server_hello_seen: false,
            server_hello_done: false,
            handshake_reported: false,
            stopped: false,
        }
    }

    /// In-order stream bytes of one direction. Decrypts what it can with `keys` and calls
    /// `out` with events in stream order.
    pub fn push(
        &mut self,
        dir: Direction,
        bytes: &[u8],
        keys: &KeyLog,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) {
        if self.stopped || bytes.is_empty() {
            return;
        }
        self.sides[index(dir)].buf.extend_from_slice(bytes);
        self.run(index(dir), keys, out);
    }

    /// Tries again to decrypt ciphertext held while keys were missing (the key log has
    /// grown).
    pub fn retry(&mut self, keys: &KeyLog, out: &mut dyn FnMut(TlsEvent<'_>)) {
        if !self.stopped {
            self.run(0, keys, out);
        }
    }

    /// `dir` lost bytes (a capture gap): decoding of this connection stops
    /// ([`TlsError::Gap`], reported once).
    pub fn gap(&mut self, dir: Direction, out: &mut dyn FnMut(TlsEvent<'_>)) {
        let _ = dir;
        if !self.stopped {
            self.stop(Stop::Failed(TlsError::Gap), out);
        }
    }

    /// The connection ended: anything still held without keys is reported
    /// ([`TlsEvent::KeysMissing`]) now.
    pub fn finish(&mut self, out: &mut dyn FnMut(TlsEvent<'_>)) {
        if self.stopped {
            return;
        }
        if self.sides.iter().any(|s| s.wait == Wait::Keys) {
            self.stop(Stop::KeysMissing, out);
        } else {
            self.stopped = true;
            self.release();
        }
    }

    /// Bytes held (partial records, ciphertext waiting for keys, partial handshake
    /// messages), for memory budgets.
    pub fn held_bytes(&self) -> usize {
        self.sides.iter().map(|s| s.buf.len() + s.hs.len()).sum()
    }

    /// What the handshake told so far.
    pub fn handshake(&self) -> &Handshake {
        &self.hs
    }

    /// Processes both directions, starting with `first`, until neither moves: a record of
    /// one direction can unblock the other (a ServerHello lets the client's next records be
    /// understood).
    fn run(&mut self, first: usize, keys: &KeyLog, out: &mut dyn FnMut(TlsEvent<'_>)) {
        loop {
            let a = self.pump(first, keys, out);
            let b = self.pump(1 - first, keys, out);
            if self.stopped || !(a || b) {
                break;
            }
        }
        if !self.stopped && self.held_bytes() > MAX_HELD_BYTES {
            let stop = if self.sides.iter().any(|s| s.wait == Wait::Keys) {
                Stop::KeysMissing
            } else {
                Stop::Failed(TlsError::Malformed("a direction's handshake never came"))
            };
            self.stop(stop, out);
        }
    }

    /// Processes the complete records of one side; true if any was consumed.
    fn pump(&mut self, side: usize, keys: &KeyLog, out: &mut dyn FnMut(TlsEvent<'_>)) -> bool {
        let buf = std::mem::take(&mut self.sides[side].buf);
        let mut pos = 0;
        self.sides[side].wait = Wait::No;
        while !self.stopped {
            let rest = &buf[pos..];
            let header = match record::header(rest) {
                Ok(Some(h)) => h,
                Ok(None) => break,
                Err(e) => {
                    self.stop(Stop::Failed(e), out);
                    break;
                }
            };
            let Some(fragment) = rest.get(record::HEADER_LEN..header.total_len()) else {
                break;
            };
            match self.record(side, &header, fragment, keys, out) {
                Step::Done => {
                    pos += header.total_len();
                    self.sides[side].records += 1;
                }
                Step::Wait(w) => {
                    self.sides[side].wait = w;
                    break;
                }
                Step::Stop(s) => self.stop(s, out),
            }
        }
        if !self.stopped {
            let mut buf = buf;
            buf.drain(..pos);
            self.sides[side].buf = buf;
        }
        pos > 0
    }

    /// Reports `why` (once) and drops everything held.
    fn stop(&mut self, why: Stop, out: &mut dyn FnMut(TlsEvent<'_>)) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        self.release();
        match why {
            Stop::Failed(e) => out(TlsEvent::Failed(e)),
            Stop::KeysMissing => out(TlsEvent::KeysMissing(&self.hs)),
        }
    }

    fn release(&mut self) {
        for s in &mut self.sides {
            *s = Side::new();
        }
    }

    fn report_handshake(&mut self, out: &mut dyn FnMut(TlsEvent<'_>)) {
        if !self.handshake_reported {
            self.handshake_reported = true;
            out(TlsEvent::Handshake(&self.hs));
        }
    }

    /// One complete record of `side`.
    fn record(
        &mut self,
        side: usize,
        header: &RecordHeader,
        fragment: &[u8],
        keys: &KeyLog,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> Step {
        let s = &self.sides[side];
        if s.records == 0 && !record::starts_handshake(side == 0, header, fragment) {
            // Met mid-stream (or not a hello): there is no client random to look up.
            return Step::Stop(Stop::KeysMissing);
        }
        if let Some(w) = self.must_wait_for_peer(side) {
            return Step::Wait(w);
        }
        let result = match self.sides[side].epoch {
            Epoch::Clear => self.clear_record(side, header, fragment, out),
            _ => self.protected_record(side, header, fragment, keys, out),
        };
        match result {
            Ok(step) => step,
            Err(e) => Step::Stop(e),
        }
    }

    /// Hellos are processed in causal order: the client's records after a ClientHello wait
    /// for the server's answer to it, and a ServerHello waits for its ClientHello.
    fn must_wait_for_peer(&self, side: usize) -> Option<Wait> {
        let clear = self.sides[side].epoch == Epoch::Clear;
        let waits = if side == 0 {
            clear && self.client_hellos > self.server_hellos
        } else {
            !self.server_hello_seen && self.server_hellos >= self.client_hellos
        };
        waits.then_some(Wait::Peer)
    }
}
