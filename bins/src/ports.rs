//! Several protocols in one capture: [`ByPort`] offers each new connection to one handler,
//! then the other (each takes only its own ports), and routes the connection's bytes to the
//! one that took it. The stats daemon runs client, quorum and election handlers this way;
//! `zk-dump --trace-writes` the client and quorum ones.

use zkwire_capture::tls::{TlsNotice, TlsReport};
use zkwire_capture::{
    ClientIs, CloseReason, ConnInfo, Direction, StreamHandler, TcpSegment, Timestamp,
};

/// Two handlers over one capture; `first` is asked first.
pub struct ByPort<A, B> {
    /// Asked first for each new connection.
    pub first: A,
    /// Asked when `first` passes.
    pub second: B,
}

/// A connection of one of the two handlers (boxed: one may be much larger than the other).
pub enum EitherConn<A, B> {
    /// `first`'s.
    First(Box<A>),
    /// `second`'s.
    Second(Box<B>),
}

impl<A: StreamHandler, B: StreamHandler> StreamHandler for ByPort<A, B> {
    type Conn = EitherConn<A::Conn, B::Conn>;

    fn open(&mut self, first: &TcpSegment<'_>, ts: Timestamp) -> Option<(Self::Conn, ClientIs)> {
        if let Some((c, side)) = self.first.open(first, ts) {
            return Some((EitherConn::First(Box::new(c)), side));
        }
        self.second
            .open(first, ts)
            .map(|(c, side)| (EitherConn::Second(Box::new(c)), side))
    }

    fn data(
        &mut self,
        conn: &mut Self::Conn,
        info: &ConnInfo,
        dir: Direction,
        ts: Timestamp,
        bytes: &[u8],
    ) {
        match conn {
            EitherConn::First(c) => self.first.data(c, info, dir, ts, bytes),
            EitherConn::Second(c) => self.second.data(c, info, dir, ts, bytes),
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
        match conn {
            EitherConn::First(c) => self.first.gap(c, info, dir, ts, len),
            EitherConn::Second(c) => self.second.gap(c, info, dir, ts, len),
        }
    }

    fn close(&mut self, conn: Self::Conn, info: &ConnInfo, ts: Timestamp, reason: CloseReason) {
        match conn {
            EitherConn::First(c) => self.first.close(*c, info, ts, reason),
            EitherConn::Second(c) => self.second.close(*c, info, ts, reason),
        }
    }

    fn held_bytes(&self, conn: &Self::Conn) -> usize {
        match conn {
            EitherConn::First(c) => self.first.held_bytes(c),
            EitherConn::Second(c) => self.second.held_bytes(c),
        }
    }

    fn wants_more(&self) -> bool {
        self.first.wants_more() && self.second.wants_more()
    }
}

impl<A: TlsReport, B: TlsReport> TlsReport for ByPort<A, B> {
    fn tls(
        &mut self,
        conn: &mut Self::Conn,
        info: &ConnInfo,
        ts: Timestamp,
        notice: TlsNotice<'_>,
    ) {
        match conn {
            EitherConn::First(c) => self.first.tls(c, info, ts, notice),
            EitherConn::Second(c) => self.second.tls(c, info, ts, notice),
        }
    }
}
