//! The client-port frames of the bench capture, shared by zk-proto's decode bench and zkwire's
//! analytics bench (which includes this file with `#[path]`, beside [`crate::support`]).
#![allow(dead_code)]

use crate::support::Streams;
use zk_proto::framing::DEFAULT_MAX_FRAME_LEN;
use zk_proto::{reply_splitter, request_splitter, ConnectionTracker, Timestamp};
use zkwire_capture::Direction;

/// One frame's payload (length prefix stripped) with what a tracker needs to take it in.
pub struct Frame {
    /// Index into [`Streams::conns`].
    pub conn: usize,
    /// Request (to the server) or reply (to the client).
    pub dir: Direction,
    /// Capture time.
    pub ts: Timestamp,
    /// The frame without its length prefix.
    pub payload: Vec<u8>,
}

/// Every frame of every client-port connection, in capture order, cut with the client
/// protocol's own splitters (as a `ClientConnection` cuts them).
pub fn frames(client: &Streams) -> Vec<Frame> {
    let messages = client.messages(|s| match s.dir {
        Direction::ToServer => request_splitter(DEFAULT_MAX_FRAME_LEN),
        Direction::ToClient => reply_splitter(DEFAULT_MAX_FRAME_LEN),
    });
    (messages.into_iter())
        .map(|m| Frame {
            conn: client.streams[m.stream].conn,
            dir: client.streams[m.stream].dir,
            ts: m.ts,
            payload: m.bytes[4..].to_vec(),
        })
        .collect()
}

/// A fresh request/reply tracker per connection.
pub fn trackers<T>(client: &Streams) -> Vec<ConnectionTracker<T>> {
    (client.conns.iter())
        .map(|c| ConnectionTracker::new(c.syn_seen))
        .collect()
}
