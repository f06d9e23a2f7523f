//! Test support shared by the unit tests: one TCP connection replayed through the real
//! reassembler into a handler, and typed messages to feed sinks.

use std::net::SocketAddr;
use zkwire_capture::{Reassembler, ReassemblyConfig, StreamHandler, TcpSegment, Timestamp};

/// Feeds one connection that starts with the client's SYN: `(ms, from_client, bytes)` segments
/// at `ms` milliseconds plus `offset_ns`, then the end of input.
pub(crate) fn replay_connection<H: StreamHandler>(
    handler: &mut H,
    client: SocketAddr,
    server: SocketAddr,
    offset_ns: i64,
    segments: &[(i64, bool, Vec<u8>)],
) {
    let mut reassembler = Reassembler::new(ReassemblyConfig::default());
    let segment = |src, dst, seq, syn, payload| TcpSegment {
        src,
        dst,
        seq,
        ack: None,
        syn,
        fin: false,
        rst: false,
        payload,
        missing: 0,
    };
    reassembler.segment(
        &segment(client, server, 99, true, &[]),
        Timestamp(0),
        handler,
    );
    let (mut to_server, mut to_client) = (100u32, 5000u32);
    let mut last = Timestamp(0);
    for (ms, from_client, bytes) in segments {
        last = Timestamp(ms * 1_000_000 + offset_ns);
        let n = bytes.len() as u32;
        let seg = if *from_client {
            to_server += n;
            segment(client, server, to_server - n, false, bytes)
        } else {
            to_client += n;
            segment(server, client, to_client - n, false, bytes)
        };
        reassembler.segment(&seg, last, handler);
    }
    reassembler.finish(last, handler);
}

/// A getData("/w") that leaves a watch (xid 1), and its OK reply.
pub(crate) fn watching_get_data() -> (zk_proto::Request<'static>, zk_proto::Reply<'static>) {
    use zk_proto::message::{ReplyBody, RequestBody};
    use zk_proto::records::{PathWatchRequest, ReplyHeader};
    use zk_proto::OpCode;
    let request = zk_proto::Request {
        xid: 1,
        opcode: OpCode::GetData,
        body: RequestBody::GetData(PathWatchRequest {
            path: Some("/w".into()),
            watch: true,
        }),
    };
    let reply = zk_proto::Reply {
        header: ReplyHeader {
            xid: 1,
            zxid: 5,
            err: 0,
        },
        opcode: Some(OpCode::GetData),
        body: ReplyBody::Empty,
    };
    (request, reply)
}
