//! `zkwire_capture::Reassembler` fed an arbitrary sequence of TCP segments.
//!
//! Input: byte 0 = configuration (bits 0–1: flow-table size; bits 2–3: per-flow buffer cap;
//! bits 4–5: total buffer cap; bit 6: the handler ignores flow 3; bit 7: "wild" sequence
//! numbers); bytes 1–4 = base sequence number; then records of
//!
//! * flags: bits 0–1 flow (4 client ports to one server), bit 2 sent by the server, bit 3 SYN,
//!   bit 4 FIN, bit 5 RST, bit 6 ACK present, bit 7 snaplen-missing bytes present;
//! * seq: 2 bytes, an offset from the direction's base (4 raw bytes when wild);
//! * ack: the same, if present (relative to the other direction's base);
//! * payload length (1 byte), then missing length (1 byte) if present;
//! * time step in milliseconds (1 byte).
//!
//! Payload bytes are not taken from the input: the byte at sequence number `s` is always
//! `s as u8`, so the handler can check what it is given. Checks: no panic; within one
//! direction of one connection, consecutive delivered bytes are consecutive sequence numbers,
//! and a gap of `n` bytes skips exactly `n` of them — so nothing is delivered twice, out of
//! order, or shifted; a zero-length gap (a desynchronisation) only happens with wild sequence
//! numbers; with tame ones no connection delivers more bytes than distinct sequence numbers
//! were sent; the flow table and the out-of-order buffers stay within their limits; every
//! opened connection is closed exactly once, and nothing is left after `finish`.
#![no_main]

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use zkwire_capture::{
    ClientIs, CloseReason, ConnInfo, Direction, Reassembler, ReassemblyConfig, StreamHandler,
    TcpSegment, Timestamp,
};

const SERVER_PORT: u16 = 2181;
const MS: i64 = 1_000_000;

fn client(flow: usize) -> SocketAddr {
    SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1 + flow as u8)),
        40_000 + flow as u16,
    )
}

fn server() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100)), SERVER_PORT)
}

fn dir_index(d: Direction) -> usize {
    match d {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

struct Conn {
    flow: usize,
    id: Option<u64>,
    /// The byte value the next delivered byte must have, per direction (`None`: unknown).
    expect: [Option<u8>; 2],
    delivered: [u64; 2],
}

struct Handler {
    wild: bool,
    ignore_flow3: bool,
    /// Distinct sequence numbers carried as payload, per flow and direction.
    sent: Vec<[HashSet<u32>; 2]>,
    opened: u64,
    closed: u64,
}

impl Handler {
    fn check_bound(&self, conn: &Conn, d: usize) {
        if !self.wild {
            let distinct = self.sent[conn.flow][d].len() as u64;
            assert!(
                conn.delivered[d] <= distinct,
                "delivered {} bytes but only {distinct} distinct ones were sent",
                conn.delivered[d]
            );
        }
    }
}

impl StreamHandler for Handler {
    type Conn = Conn;

    fn open(&mut self, first: &TcpSegment<'_>, _ts: Timestamp) -> Option<(Conn, ClientIs)> {
        let (client_addr, is) = if first.dst.port() == SERVER_PORT {
            (first.src, ClientIs::Source)
        } else {
            (first.dst, ClientIs::Destination)
        };
        let flow = (client_addr.port() - 40_000) as usize;
        if self.ignore_flow3 && flow == 3 {
            return None;
        }
        self.opened += 1;
        Some((
            Conn {
                flow,
                id: None,
                expect: [None; 2],
                delivered: [0; 2],
            },
            is,
        ))
    }

    fn data(
        &mut self,
        conn: &mut Conn,
        info: &ConnInfo,
        dir: Direction,
        _: Timestamp,
        bytes: &[u8],
    ) {
        assert!(!bytes.is_empty(), "empty data event");
        assert_eq!(*conn.id.get_or_insert(info.id), info.id);
        let d = dir_index(dir);
        if let Some(e) = conn.expect[d] {
            assert_eq!(
                bytes[0], e,
                "byte delivered out of order, twice, or shifted"
            );
        }
        for w in bytes.windows(2) {
            assert_eq!(
                w[1],
                w[0].wrapping_add(1),
                "bytes within one event not consecutive"
            );
        }
        conn.expect[d] = Some(bytes[bytes.len() - 1].wrapping_add(1));
        conn.delivered[d] += bytes.len() as u64;
        self.check_bound(conn, d);
    }

    fn gap(&mut self, conn: &mut Conn, info: &ConnInfo, dir: Direction, _: Timestamp, len: u64) {
        assert_eq!(*conn.id.get_or_insert(info.id), info.id);
        let d = dir_index(dir);
        if len == 0 {
            assert!(
                self.wild,
                "desynchronised on sequence numbers within 64 KiB"
            );
            conn.expect[d] = None;
        } else if let Some(e) = conn.expect[d] {
            conn.expect[d] = Some(e.wrapping_add(len as u8));
        }
    }

    fn close(&mut self, conn: Conn, info: &ConnInfo, _: Timestamp, _reason: CloseReason) {
        if let Some(id) = conn.id {
            assert_eq!(id, info.id);
        }
        self.check_bound(&conn, 0);
        self.check_bound(&conn, 1);
        self.closed += 1;
        assert!(self.closed <= self.opened);
    }
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes([
            self.u8()?,
            self.u8()?,
            self.u8()?,
            self.u8()?,
        ]))
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let (Some(cfg), Some(base)) = (input.u8(), input.u32()) else {
        return;
    };
    let wild = cfg & 0x80 != 0;
    let config = ReassemblyConfig {
        max_flows: [1, 2, 3, 8][cfg as usize & 3],
        max_buffered_per_flow: [16, 64, 512, 1 << 20][(cfg >> 2) as usize & 3],
        max_buffered_total: [16, 128, 1024, 1 << 24][(cfg >> 4) as usize & 3],
        hole_timeout_ns: 50 * MS,
        idle_timeout_ns: 2_000 * MS,
        closed_linger_ns: 1_000 * MS,
        // A budget of a few flows drives the eviction order; the others never reach it.
        max_memory: if cfg & 0x40 != 0 { 8 << 10 } else { usize::MAX },
    };
    let (max_flows, max_total) = (config.max_flows, config.max_buffered_total);
    let mut r: Reassembler<Conn> = Reassembler::new(config);
    let mut h = Handler {
        wild,
        ignore_flow3: cfg & 0x40 != 0,
        sent: (0..4).map(|_| [HashSet::new(), HashSet::new()]).collect(),
        opened: 0,
        closed: 0,
    };
    let dir_base =
        |flow: usize, d: usize| base.wrapping_add(((flow as u32) << 28) | ((d as u32) << 27));
    let mut ts = Timestamp(1_700_000_000_000_000_000);
    let mut payload = Vec::new();
    for _ in 0..4096 {
        let Some(f) = input.u8() else { break };
        let flow = f as usize & 3;
        let d = (f >> 2) as usize & 1;
        let (syn, fin, rst, has_ack, has_missing) = (
            f & 8 != 0,
            f & 16 != 0,
            f & 32 != 0,
            f & 64 != 0,
            f & 128 != 0,
        );
        let seq = if wild {
            input.u32()
        } else {
            input
                .u16()
                .map(|o| dir_base(flow, d).wrapping_add(o as u32))
        };
        let Some(seq) = seq else { break };
        let ack = if has_ack {
            let a = if wild {
                input.u32()
            } else {
                input
                    .u16()
                    .map(|o| dir_base(flow, 1 - d).wrapping_add(o as u32))
            };
            let Some(a) = a else { break };
            Some(a)
        } else {
            None
        };
        let Some(len) = input.u8() else { break };
        let missing = if has_missing {
            let Some(m) = input.u8() else { break };
            m as u32
        } else {
            0
        };
        let Some(dt) = input.u8() else { break };
        ts = ts.plus_nanos(dt as i64 * MS);

        let data_seq = seq.wrapping_add(syn as u32);
        payload.clear();
        for i in 0..len as u32 {
            let s = data_seq.wrapping_add(i);
            payload.push(s as u8);
            h.sent[flow][d].insert(s);
        }
        let (src, dst) = if d == 0 {
            (client(flow), server())
        } else {
            (server(), client(flow))
        };
        let seg = TcpSegment {
            src,
            dst,
            seq,
            ack,
            syn,
            fin,
            rst,
            payload: &payload,
            missing,
        };
        r.segment(&seg, ts, &mut h);
        assert!(
            r.tracked_flows() <= max_flows,
            "{} flows tracked",
            r.tracked_flows()
        );
        assert!(
            r.buffered_bytes() <= max_total,
            "{} bytes buffered",
            r.buffered_bytes()
        );
    }
    r.finish(ts, &mut h);
    assert_eq!(
        h.opened, h.closed,
        "every connection is closed exactly once"
    );
    assert_eq!(r.tracked_flows(), 0);
    assert_eq!(r.buffered_bytes(), 0);
    assert_eq!(r.stats.flows, h.opened);
    if !wild {
        assert_eq!(r.stats.desyncs, 0);
    }
});
