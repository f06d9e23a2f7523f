//! TLS in front of any [`StreamHandler`] (feature `tls`): a connection whose first bytes are
//! TLS records is decrypted with the secrets of an NSS key log ([`zkwire_tls`]) and its
//! plaintext handed to the wrapped handler as if it had crossed the wire in clear, so the
//! ZooKeeper, quorum and election decoders need no change. Everything else passes through.
//!
//! The wrapped handler implements [`TlsReport`] to hear what became of each TLS connection:
//! decrypted, keys missing (with what the handshake shows in clear) or failed (a named error,
//! such as a key log with wrong secrets). Nothing that could not be decrypted ever reaches it.
//!
//! The key log is read when the layer is made and again, as it grows, while a connection waits
//! for keys (a live client appends its secrets a moment after its handshake): at most every
//! [`REFRESH_EVERY_NS`] of capture time, and once more before a waiting connection is given up.

use crate::link::TcpSegment;
use crate::reassembly::{ClientIs, CloseReason, ConnInfo, StreamHandler};
use crate::stats::TlsStats;
use crate::time::Timestamp;
use std::path::{Path, PathBuf};
use zkwire_jute::Direction;
use zkwire_tls::{looks_like_tls, TlsEvent, TlsStream};
pub use zkwire_tls::{Handshake, KeyLog, KeyLogFile, TlsError};

/// How often, in capture time, a connection waiting for keys makes the key log be read again.
pub const REFRESH_EVERY_NS: i64 = 50_000_000;

/// What became of a TLS connection, told to the wrapped handler.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum TlsNotice<'a> {
    /// Its keys were found: its plaintext follows, through [`StreamHandler::data`].
    Decrypting(&'a Handshake),
    /// Its keys are not in the key log (or its handshake was not captured): nothing of it is
    /// decoded. Told once, when the layer gives up waiting.
    KeysMissing(&'a Handshake),
    /// Decryption stopped for good (wrong secrets, an unsupported suite, a capture gap…).
    Failed(&'a TlsError, &'a Handshake),
    /// A TLS 1.3 key update was applied in one direction.
    KeyUpdate(Direction),
}

/// A [`StreamHandler`] that also hears about TLS connections from a [`TlsLayer`].
pub trait TlsReport: StreamHandler {
    /// What became of a TLS connection (see [`TlsNotice`]).
    fn tls(&mut self, conn: &mut Self::Conn, info: &ConnInfo, ts: Timestamp, notice: TlsNotice<'_>);
}

impl<H: TlsReport + ?Sized> TlsReport for &mut H {
    fn tls(
        &mut self,
        conn: &mut Self::Conn,
        info: &ConnInfo,
        ts: Timestamp,
        notice: TlsNotice<'_>,
    ) {
        (**self).tls(conn, info, ts, notice)
    }
}

/// A handler behind TLS decryption; see the module documentation.
pub struct TlsLayer<H> {
    inner: H,
    keys: KeyLog,
    /// The key log's path, when there is one; `file` once it could be opened.
    path: Option<PathBuf>,
    file: Option<KeyLogFile>,
    last_refresh: Option<Timestamp>,
    stats: TlsStats,
}

/// A connection of a [`TlsLayer`]: the wrapped handler's state and, for TLS, the decryptor.
pub struct TlsConn<C> {
    inner: C,
    mode: Mode,
}

enum Mode {
    /// No byte seen yet.
    Undecided,
    /// Not TLS: bytes pass through.
    Plain,
    /// TLS: bytes go through the decryptor.
    Tls(Box<TlsState>),
}

struct TlsState {
    stream: TlsStream,
    /// The handshake as last reported by the stream (for the `Decrypting` notice).
    handshake: Handshake,
    /// Whether the wrapped handler has been told how this connection ends up.
    told: bool,
}

impl<H> TlsLayer<H> {
    /// A layer without keys: TLS connections are recognised and reported, never decoded.
    pub fn new(inner: H) -> TlsLayer<H> {
        TlsLayer {
            inner,
            keys: KeyLog::new(),
            path: None,
            file: None,
            last_refresh: None,
            stats: TlsStats::default(),
        }
    }

    /// A layer decrypting with the NSS key log at `path`, read now and again as it grows.
    /// Fails when the file cannot be opened.
    pub fn with_key_log(inner: H, path: &Path) -> std::io::Result<TlsLayer<H>> {
        let mut layer = TlsLayer::new(inner);
        layer.path = Some(path.to_path_buf());
        layer.file = Some(KeyLogFile::open(path)?);
        layer.refresh(Timestamp(0), true);
        Ok(layer)
    }

    /// [`TlsLayer::with_key_log`] for a live capture started before the client that writes the
    /// key log: a file that cannot be opened yet is tried again whenever keys are wanted.
    pub fn watching_key_log(inner: H, path: &Path) -> TlsLayer<H> {
        let mut layer = TlsLayer::new(inner);
        layer.path = Some(path.to_path_buf());
        layer.refresh(Timestamp(0), true);
        layer
    }

    /// [`TlsLayer::watching_key_log`] when there is a key log, else [`TlsLayer::new`].
    pub fn with_optional_key_log(inner: H, path: Option<&Path>) -> TlsLayer<H> {
        match path {
            Some(path) => TlsLayer::watching_key_log(inner, path),
            None => TlsLayer::new(inner),
        }
    }

    /// The wrapped handler.
    pub fn inner(&self) -> &H {
        &self.inner
    }

    /// The wrapped handler, mutably.
    pub fn inner_mut(&mut self) -> &mut H {
        &mut self.inner
    }

    /// The wrapped handler, the layer taken apart (after a run).
    pub fn into_inner(self) -> H {
        self.inner
    }

    /// The TLS counters so far.
    pub fn stats(&self) -> &TlsStats {
        &self.stats
    }

    /// Reads what the key log gained, at most every [`REFRESH_EVERY_NS`] unless `force`d. A
    /// read error (the file was removed) keeps the secrets already read.
    fn refresh(&mut self, ts: Timestamp, force: bool) {
        let due = force
            || self
                .last_refresh
                .is_none_or(|last| ts.nanos_since(last) >= REFRESH_EVERY_NS);
        if !due {
            return;
        }
        self.last_refresh = Some(ts);
        if self.file.is_none() {
            self.file = self.path.as_deref().and_then(|p| KeyLogFile::open(p).ok());
        }
        if let Some(file) = &mut self.file {
            let _ = file.refresh(&mut self.keys);
            self.note_key_log();
        }
    }

    fn note_key_log(&mut self) {
        self.stats.keylog_secrets = self.keys.len() as u64;
        self.stats.keylog_rejected = self.file.as_ref().map_or(0, KeyLogFile::rejected);
    }
}

impl<H: TlsReport> TlsLayer<H> {
    /// Pushes one TLS event on to the wrapped handler, counting it.
    fn on_event(
        inner: &mut H,
        stats: &mut TlsStats,
        conn: &mut H::Conn,
        state: (&mut Handshake, &mut bool),
        info: &ConnInfo,
        ts: Timestamp,
        ev: TlsEvent<'_>,
    ) {
        let (handshake, told) = state;
        match ev {
            TlsEvent::Handshake(h) => *handshake = h.clone(),
            TlsEvent::Plaintext { dir, data } => {
                if !*told {
                    *told = true;
                    stats.decrypted += 1;
                    inner.tls(conn, info, ts, TlsNotice::Decrypting(handshake));
                }
                inner.data(conn, info, dir, ts, data);
            }
            TlsEvent::KeysMissing(h) if !*told => {
                *told = true;
                stats.keys_missing += 1;
                inner.tls(conn, info, ts, TlsNotice::KeysMissing(h));
            }
            TlsEvent::KeyUpdate { dir } => {
                stats.key_updates += 1;
                inner.tls(conn, info, ts, TlsNotice::KeyUpdate(dir));
            }
            TlsEvent::Failed(e) => {
                stats.failed += 1;
                *told = true;
                inner.tls(conn, info, ts, TlsNotice::Failed(&e, handshake));
            }
            _ => {}
        }
    }

    /// Runs `f` on a TLS connection's decryptor with an event sink bound to the handler.
    fn with_stream(
        &mut self,
        conn: &mut TlsConn<H::Conn>,
        info: &ConnInfo,
        ts: Timestamp,
        f: impl FnOnce(&mut TlsStream, &KeyLog, &mut dyn FnMut(TlsEvent<'_>)),
    ) {
        let Mode::Tls(state) = &mut conn.mode else {
            return;
        };
        let TlsState {
            stream,
            handshake,
            told,
        } = &mut **state;
        let (inner, stats, keys) = (&mut self.inner, &mut self.stats, &self.keys);
        let conn_inner = &mut conn.inner;
        f(stream, keys, &mut |ev| {
            Self::on_event(
                inner,
                stats,
                conn_inner,
                (&mut *handshake, &mut *told),
                info,
                ts,
                ev,
            )
        });
    }
}

impl<H: TlsReport> StreamHandler for TlsLayer<H> {
    type Conn = TlsConn<H::Conn>;

    fn open(&mut self, first: &TcpSegment<'_>, ts: Timestamp) -> Option<(Self::Conn, ClientIs)> {
        let (inner, side) = self.inner.open(first, ts)?;
        Some((
            TlsConn {
                inner,
                mode: Mode::Undecided,
            },
            side,
        ))
    }

    fn data(
        &mut self,
        conn: &mut Self::Conn,
        info: &ConnInfo,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
    ) {
        if let Mode::Undecided = conn.mode {
            conn.mode = if looks_like_tls(bytes, dir == Direction::ToServer, info.syn_seen) {
                self.stats.connections += 1;
                Mode::Tls(Box::new(TlsState {
                    stream: TlsStream::new(),
                    handshake: Handshake::default(),
                    told: false,
                }))
            } else {
                Mode::Plain
            };
        }
        match conn.mode {
            Mode::Plain => self.inner.data(&mut conn.inner, info, dir, ts, bytes),
            _ => {
                self.refresh(ts, false);
                self.with_stream(conn, info, ts, |s, keys, out| s.push(dir, bytes, keys, out));
            }
        }
    }

    fn gap(
        &mut self,
        conn: &mut Self::Conn,
        info: &ConnInfo,
        dir: Direction,
        ts: Timestamp,
        len: u64,
    ) {
        match conn.mode {
            Mode::Tls(_) => self.with_stream(conn, info, ts, |s, _, out| s.gap(dir, out)),
            // A connection that starts with a hole is decided by its first bytes after it.
            Mode::Plain | Mode::Undecided => self.inner.gap(&mut conn.inner, info, dir, ts, len),
        }
    }

    fn close(&mut self, mut conn: Self::Conn, info: &ConnInfo, ts: Timestamp, reason: CloseReason) {
        if let Mode::Tls(_) = conn.mode {
            // Last chance for its keys: the client may have written them just now.
            self.refresh(ts, true);
            self.with_stream(&mut conn, info, ts, |s, keys, out| {
                s.retry(keys, out);
                s.finish(out);
            });
        }
        self.inner.close(conn.inner, info, ts, reason);
    }

    fn held_bytes(&self, conn: &Self::Conn) -> usize {
        let tls = match &conn.mode {
            Mode::Tls(state) => state.stream.held_bytes(),
            _ => 0,
        };
        tls + self.inner.held_bytes(&conn.inner)
    }

    fn wants_more(&self) -> bool {
        self.inner.wants_more()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reassembly::tests::seg;
    use crate::reassembly::{Reassembler, ReassemblyConfig};

    /// Records what reaches the wrapped handler.
    #[derive(Default)]
    struct Recorder {
        data: Vec<(Direction, Vec<u8>)>,
        notices: Vec<String>,
    }

    impl StreamHandler for Recorder {
        type Conn = ();

        fn open(&mut self, first: &TcpSegment<'_>, _: Timestamp) -> Option<((), ClientIs)> {
            ClientIs::for_server_ports(first, &[2181]).map(|side| ((), side))
        }

        fn data(&mut self, _: &mut (), _: &ConnInfo, dir: Direction, _: Timestamp, b: &[u8]) {
            self.data.push((dir, b.to_vec()));
        }

        fn gap(&mut self, _: &mut (), _: &ConnInfo, _: Direction, _: Timestamp, _: u64) {}

        fn close(&mut self, _: (), _: &ConnInfo, _: Timestamp, _: CloseReason) {}
    }

    impl TlsReport for Recorder {
        fn tls(&mut self, _: &mut (), _: &ConnInfo, _: Timestamp, notice: TlsNotice<'_>) {
            self.notices.push(format!("{notice:?}"));
        }
    }

    /// Runs client then server bytes of one connection met mid-stream through a layer.
    fn run(client: &[u8], server: &[u8]) -> (Recorder, TlsStats) {
        let mut layer = TlsLayer::new(Recorder::default());
        let mut r = Reassembler::new(ReassemblyConfig::default());
        r.segment(&seg(true, 1000, client), Timestamp(1), &mut layer);
        r.segment(&seg(false, 5000, server), Timestamp(2), &mut layer);
        r.finish(Timestamp(3), &mut layer);
        let stats = layer.stats().clone();
        (layer.inner, stats)
    }

    #[test]
    fn plaintext_passes_through_untouched() {
        let request = [0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 11];
        let (rec, stats) = run(&request, &[0, 0, 0, 4, 1, 2, 3, 4]);
        assert_eq!(rec.data.len(), 2);
        assert_eq!(rec.data[0], (Direction::ToServer, request.to_vec()));
        assert!(rec.notices.is_empty());
        assert_eq!(stats, TlsStats::default());
    }

    #[test]
    fn tls_without_keys_is_reported_once_and_never_reaches_the_decoder() {
        // Application-data records met mid-stream: TLS whose handshake was not captured.
        let mut client = vec![0x17, 0x03, 0x03, 0x00, 0x20];
        client.extend([0xab; 0x20]);
        client.extend([0x17, 0x03, 0x03, 0x00, 0x10]);
        client.extend([0xcd; 0x10]);
        let mut server = vec![0x17, 0x03, 0x03, 0x00, 0x08];
        server.extend([0xef; 8]);
        let (rec, stats) = run(&client, &server);
        assert!(rec.data.is_empty(), "{:?}", rec.data);
        assert_eq!(rec.notices.len(), 1, "{:?}", rec.notices);
        assert!(
            rec.notices[0].starts_with("KeysMissing"),
            "{:?}",
            rec.notices
        );
        assert_eq!((stats.connections, stats.keys_missing), (1, 1));
        assert_eq!(stats.decrypted, 0);
    }
}
