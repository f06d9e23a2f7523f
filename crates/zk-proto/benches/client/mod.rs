//! The client-port frames of the bench capture, shared by zk-proto's decode bench and zkwire's
//! analytics bench (which includes this file with `#[path]`, beside [`crate::support`]).
#![allow(dead_code)]

use crate::support::Streams;
use zk_proto::framing::DEFAULT_MAX_FRAME_LEN;
use zk_proto::{plausible_reply_frame, plausible_request_frame, ConnectionTracker};
use zkwire_capture::{Direction, LengthPrefixed, Plausibility};

/// One frame's payload (length prefix stripped) with what a tracker needs to take it in.
pub struct Frame {
    /// Index into [`Streams::conns`].
    pub conn: usize,
    /// Request (to the server) or reply (to the client).
    pub dir: Direction,
    /// Capture time in nanoseconds.
    pub ts: u64,
    /// The frame without its length prefix.
    pub payload: Vec<u8>,
}

fn verdict(plausible: bool) -> Plausibility {
    if plausible {
        Plausibility::Yes
    } else {
        Plausibility::No
    }
}

/// Every frame of every client-port connection, in capture order.
pub fn frames(client: &Streams) -> Vec<Frame> {
    let messages = client.messages(|s| {
        let check: fn(&[u8]) -> Plausibility = match s.dir {
            Direction::ToServer => |b| verdict(plausible_request_frame(b)),
            Direction::ToClient => |b| verdict(plausible_reply_frame(b)),
        };
        LengthPrefixed::new(0, DEFAULT_MAX_FRAME_LEN, check)
    });
    (messages.into_iter())
        .map(|m| Frame {
            conn: client.streams[m.stream].conn,
            dir: client.streams[m.stream].dir,
            ts: m.ts.0 as u64,
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
