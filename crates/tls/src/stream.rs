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

use zkwire_jute::Direction;

use crate::cipher::{Opened, RecordCipher};
use crate::handshake::{self, Handshake, TlsVersion};
use crate::keylog::KeyLog;
use crate::record::{self, RecordHeader};
use crate::suites::Suite;
use crate::{CipherSuite, TlsError, TlsEvent};

/// Bytes held per connection (both directions) while keys are missing; past this the
/// connection is given up ([`TlsEvent::KeysMissing`]).
pub const MAX_HELD_BYTES: usize = 1 << 20;
/// The longest handshake message followed (certificate chains are the long ones).
pub const MAX_HANDSHAKE_MESSAGE: usize = 64 << 10;

const CONTENT_CCS: u8 = 20;
const CONTENT_ALERT: u8 = 21;
const CONTENT_HANDSHAKE: u8 = 22;
const CONTENT_APPDATA: u8 = 23;

/// Which keys protect a direction's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Epoch {
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
enum Wait {
    No,
    /// The key log has no secret for the record's epoch yet.
    Keys,
    /// The other direction's hello must be processed first.
    Peer,
}

/// One direction of the connection.
struct Side {
    /// Bytes not yet processed: a partial record, or records waiting (see `wait`).
    buf: Vec<u8>,
    /// Handshake messages being reassembled (clear or decrypted).
    hs: Vec<u8>,
    records: u64,
    epoch: Epoch,
    /// Keys of the current epoch, derived when first needed.
    cipher: Option<RecordCipher>,
    /// TLS 1.2: this direction's Finished was decrypted.
    finished: bool,
    wait: Wait,
}

impl Side {
    fn new() -> Side {
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

    fn enter(&mut self, epoch: Epoch) {
        self.epoch = epoch;
        self.cipher = None;
    }
}

/// What processing one record did.
enum Step {
    Done,
    Wait(Wait),
    Stop(Stop),
}

/// Why the connection stops being decoded.
enum Stop {
    Failed(TlsError),
    KeysMissing,
}

impl From<TlsError> for Stop {
    fn from(e: TlsError) -> Stop {
        Stop::Failed(e)
    }
}

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

fn index(dir: Direction) -> usize {
    match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

fn direction(side: usize) -> Direction {
    if side == 0 {
        Direction::ToServer
    } else {
        Direction::ToClient
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

    fn clear_record(
        &mut self,
        side: usize,
        header: &RecordHeader,
        fragment: &[u8],
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> Result<Step, Stop> {
        match header.content_type {
            CONTENT_HANDSHAKE => self.handshake_bytes(side, fragment, out)?,
            CONTENT_CCS if self.tls13 => {} // middlebox compatibility, no meaning
            CONTENT_CCS => self.change_cipher_spec(side, out)?,
            CONTENT_ALERT => {} // e.g. a handshake failure: nothing to decode
            CONTENT_APPDATA => {
                return Err(TlsError::Malformed("application data before encryption").into())
            }
            _ => {} // heartbeat
        }
        Ok(Step::Done)
    }

    /// TLS 1.2 ChangeCipherSpec: the side's next records are encrypted.
    fn change_cipher_spec(
        &mut self,
        side: usize,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> Result<(), Stop> {
        if !self.server_hello_seen {
            return Err(TlsError::Malformed("ChangeCipherSpec before ServerHello").into());
        }
        if side == 1 && !self.server_hello_done {
            // The server goes straight from ServerHello to Finished: an abbreviated handshake.
            self.hs.resumed = true;
        }
        self.sides[side].enter(Epoch::Tls12);
        self.report_handshake(out);
        Ok(())
    }

    /// Adds handshake bytes of `side` and handles every complete message.
    fn handshake_bytes(
        &mut self,
        side: usize,
        bytes: &[u8],
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> Result<(), Stop> {
        let mut hs = std::mem::take(&mut self.sides[side].hs);
        hs.extend_from_slice(bytes);
        let mut pos = 0;
        let result = loop {
            match record::handshake_message(&hs[pos..]) {
                Ok(Some(len)) => {
                    let msg = &hs[pos..pos + len];
                    pos += len;
                    if let Err(e) = self.handshake_message(side, msg, out) {
                        break Err(e);
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(Stop::Failed(e)),
            }
        };
        hs.drain(..pos);
        if !self.stopped {
            self.sides[side].hs = hs;
        }
        result
    }

    /// One whole handshake message (header included) of `side`.
    fn handshake_message(
        &mut self,
        side: usize,
        msg: &[u8],
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> Result<(), Stop> {
        let msg_type = msg[0];
        match (side, self.sides[side].epoch) {
            (0, Epoch::Clear) => self.client_clear_message(msg_type, msg),
            (_, Epoch::Clear) => self.server_clear_message(msg_type, msg, out),
            (_, Epoch::Tls12) => {
                // The first protected handshake message is Finished; any later one starts a
                // renegotiation.
                let s = &mut self.sides[side];
                if s.finished {
                    return Err(TlsError::Renegotiation.into());
                }
                s.finished = true;
                Ok(())
            }
            (_, Epoch::Tls13Handshake) => {
                match msg_type {
                    8 if side == 1 => {
                        if let Some(alpn) = handshake::encrypted_extensions_alpn(&msg[4..]) {
                            self.hs.alpn = Some(alpn);
                        }
                    }
                    20 => self.sides[side].enter(Epoch::Tls13Application),
                    _ => {}
                }
                Ok(())
            }
            (_, Epoch::Tls13Application) => {
                if msg_type == 24 {
                    let updated = self.sides[side]
                        .cipher
                        .as_mut()
                        .is_some_and(RecordCipher::key_update);
                    if !updated {
                        return Err(TlsError::Malformed("KeyUpdate could not be applied").into());
                    }
                    out(TlsEvent::KeyUpdate {
                        dir: direction(side),
                    });
                }
                // NewSessionTicket, post-handshake authentication: nothing to do.
                Ok(())
            }
        }
    }

    fn client_clear_message(&mut self, msg_type: u8, msg: &[u8]) -> Result<(), Stop> {
        if msg_type == 1 {
            let ch = handshake::client_hello(msg)?;
            self.client_random = Some(ch.random);
            if ch.sni.is_some() {
                self.hs.sni = ch.sni;
            }
            self.early_data_offered |= ch.early_data;
            self.client_hellos += 1;
        }
        // ClientKeyExchange, Certificate, CertificateVerify: not needed with a key log.
        Ok(())
    }

    fn server_clear_message(
        &mut self,
        msg_type: u8,
        msg: &[u8],
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> Result<(), Stop> {
        match msg_type {
            2 => self.server_hello(msg, out)?,
            11 if !self.tls13 && self.hs.certificate_subject.is_none() => {
                self.hs.certificate_subject = handshake::certificate_subject(msg);
            }
            14 => {
                self.server_hello_done = true;
                self.report_handshake(out);
            }
            _ => {}
        }
        Ok(())
    }

    fn server_hello(&mut self, msg: &[u8], out: &mut dyn FnMut(TlsEvent<'_>)) -> Result<(), Stop> {
        let sh = handshake::server_hello(msg)?;
        self.server_hellos += 1;
        if sh.hello_retry {
            // HelloRetryRequest: the client sends a second ClientHello, in the clear.
            self.tls13 = true;
            return Ok(());
        }
        if self.server_hello_seen {
            return Err(TlsError::Malformed("second ServerHello").into());
        }
        self.server_hello_seen = true;
        self.server_random = Some(sh.random);
        self.hs.version = Some(TlsVersion::from_code(sh.version));
        self.hs.cipher_suite = Some(CipherSuite(sh.cipher));
        self.hs.alpn = sh.alpn;
        self.encrypt_then_mac = sh.encrypt_then_mac;
        let suite = Suite::by_id(sh.cipher);
        match sh.version {
            0x0304 => {
                self.tls13 = true;
                self.hs.resumed = sh.psk;
                if !suite.is_some_and(|s| s.tls13) {
                    return Err(TlsError::UnsupportedCipherSuite(sh.cipher).into());
                }
                // Everything after ServerHello is protected, in both directions.
                self.sides[0].enter(Epoch::Tls13Handshake);
                self.sides[1].enter(Epoch::Tls13Handshake);
                self.report_handshake(out);
            }
            0x0303 => {
                self.tls13 = false;
                if suite.is_none_or(|s| s.tls13) {
                    return Err(TlsError::UnsupportedCipherSuite(sh.cipher).into());
                }
            }
            other => return Err(TlsError::UnsupportedVersion(other).into()),
        }
        self.suite = suite;
        Ok(())
    }

    /// A record of a side whose records are encrypted.
    fn protected_record(
        &mut self,
        side: usize,
        header: &RecordHeader,
        fragment: &[u8],
        keys: &KeyLog,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> Result<Step, Stop> {
        if self.tls13 && header.content_type != CONTENT_APPDATA {
            // TLS 1.3 protects everything as application data; a clear ChangeCipherSpec is
            // for middleboxes, a clear alert ends the connection.
            return Ok(Step::Done);
        }
        if self.sides[side].cipher.is_none() {
            match self.derive(side, keys) {
                Some(c) => self.sides[side].cipher = Some(c),
                None => return Ok(Step::Wait(Wait::Keys)),
            }
        }
        let Some(cipher) = self.sides[side].cipher.as_mut() else {
            return Ok(Step::Wait(Wait::Keys));
        };
        let opened = match cipher.open(&header.bytes, fragment) {
            Ok(o) => o,
            Err(TlsError::BadRecordMac)
                if side == 0
                    && self.early_data_offered
                    && self.sides[0].epoch == Epoch::Tls13Handshake =>
            {
                return Err(TlsError::EarlyData.into());
            }
            Err(e) => return Err(e.into()),
        };
        self.opened(side, opened, out)?;
        Ok(Step::Done)
    }

    /// The decrypted content of a record.
    fn opened(
        &mut self,
        side: usize,
        opened: Opened,
        out: &mut dyn FnMut(TlsEvent<'_>),
    ) -> Result<(), Stop> {
        match opened.content_type {
            CONTENT_HANDSHAKE => self.handshake_bytes(side, &opened.data, out),
            CONTENT_APPDATA => {
                let s = &self.sides[side];
                let ready = match s.epoch {
                    Epoch::Tls12 => s.finished,
                    Epoch::Tls13Application => true,
                    _ => false,
                };
                if !ready {
                    return Err(TlsError::Malformed("application data before Finished").into());
                }
                self.report_handshake(out);
                if !opened.data.is_empty() {
                    out(TlsEvent::Plaintext {
                        dir: direction(side),
                        data: &opened.data,
                    });
                }
                Ok(())
            }
            CONTENT_ALERT | CONTENT_CCS => Ok(()),
            _ => Err(TlsError::Malformed("unknown content type in a protected record").into()),
        }
    }

    /// The keys of `side`'s current epoch, if the key log has their secret.
    fn derive(&self, side: usize, keys: &KeyLog) -> Option<RecordCipher> {
        let secrets = keys.get(self.client_random.as_ref()?)?;
        let suite = self.suite?;
        let client = side == 0;
        match self.sides[side].epoch {
            Epoch::Clear => None,
            Epoch::Tls12 => RecordCipher::tls12(
                suite,
                secrets.master.as_ref()?,
                self.client_random.as_ref()?,
                self.server_random.as_ref()?,
                client,
                self.encrypt_then_mac,
            ),
            Epoch::Tls13Handshake => {
                let secret = if client {
                    &secrets.client_handshake
                } else {
                    &secrets.server_handshake
                };
                RecordCipher::tls13(suite, secret.as_ref()?)
            }
            Epoch::Tls13Application => {
                let secret = if client {
                    &secrets.client_traffic
                } else {
                    &secrets.server_traffic
                };
                RecordCipher::tls13(suite, secret.as_ref()?)
            }
        }
    }
}
