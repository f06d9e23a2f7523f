//! `--top-watches`: which watches each session holds, from the requests that set them (and
//! their replies' outcome), setWatches after a reconnect, the events that fire one-shot
//! watches, removeWatches, and the end of sessions.

use crate::intern::FastMap as Map;
use crate::zk::{ZkBody, ZkMessage};
use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use zk_proto::message::RequestBody;
use zk_proto::OpCode;

/// What a watch-setting request's reply needs of it.
#[derive(Debug)]
struct Asked {
    opcode: OpCode,
    path: String,
    watch: bool,
    /// addWatch's mode (1: recursive).
    add_mode: i32,
    /// removeWatches' watcher type.
    watcher_type: i32,
}

/// Most (path, kind) pairs held in all: an always-on daemon must stay bounded whatever the
/// clients do; further watches are counted, not kept.
const MAX_HELD: usize = 4_000_000;

/// Who holds watches: a session, or the client's address while its session is unknown.
/// Named (`0x…`, `ip:port`) only when shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Watcher {
    /// A session id.
    Session(i64),
    /// A client whose session the capture has not shown.
    Client(SocketAddr),
}

impl fmt::Display for Watcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Watcher::Session(s) => write!(f, "0x{:x}", *s as u64),
            Watcher::Client(a) => write!(f, "{a}"),
        }
    }
}

/// The watch table: watcher (session, or client address when the session is unknown) → the
/// (path, kind) pairs it holds.
#[derive(Debug, Default)]
pub struct Watches {
    pub(super) held: Map<Watcher, BTreeSet<(String, &'static str)>>,
    /// Pairs in `held`, kept in step with it.
    total: usize,
    /// Watches not kept because [`MAX_HELD`] were held.
    pub untracked: u64,
    asked: Map<(SocketAddr, i32), Asked>,
    /// Sessions whose connection ended without a close: when (ns), and their negotiated
    /// timeout (ms). The server expires them after the timeout unless they reconnect, and
    /// their watches end with them.
    disconnected: Map<i64, (i64, i64)>,
    /// The earliest time (ns) one of `disconnected` can expire: before it, no scan.
    next_expiry: i64,
    /// Negotiated session timeouts (ms), from ConnectReplies.
    timeouts: Map<i64, i64>,
}

fn watcher_of(msg: &ZkMessage<'_>) -> Watcher {
    msg.session
        .map_or(Watcher::Client(msg.client), Watcher::Session)
}

/// When a session lost at `closed` (ns) with this timeout (ms) expires.
fn expiry((closed, timeout_ms): (i64, i64)) -> i64 {
    closed.saturating_add(timeout_ms.saturating_mul(1_000_000))
}

impl Watches {
    /// How many watches each watcher holds.
    pub fn held_counts(&self) -> impl Iterator<Item = (Watcher, usize)> + '_ {
        self.held.iter().map(|(w, set)| (*w, set.len()))
    }

    /// Adds a watch, within the bound.
    fn hold(&mut self, who: Watcher, path: String, kind: &'static str) {
        if self.total >= MAX_HELD {
            self.untracked += 1;
            return;
        }
        let set = self.held.entry(who).or_default();
        if set.insert((path, kind)) {
            self.total += 1;
        }
    }

    /// Keeps the watcher's watches for which `keep` holds.
    fn retain(&mut self, who: Watcher, keep: impl Fn(&(String, &'static str)) -> bool) {
        if let Some(set) = self.held.get_mut(&who) {
            let before = set.len();
            set.retain(|w| keep(w));
            self.total -= before - set.len();
        }
    }

    /// Ends every watch of a watcher (its session ended).
    fn end(&mut self, who: Watcher) {
        if let Some(set) = self.held.remove(&who) {
            self.total -= set.len();
        }
    }

    /// Takes in one message.
    pub fn observe(&mut self, msg: &ZkMessage<'_>) {
        self.end_sessions(msg);
        let who = watcher_of(msg);
        match msg.body {
            ZkBody::Request { request, .. } => self.request(msg, who, &request.body),
            ZkBody::Reply { .. } | ZkBody::BadReply { .. } => self.reply(msg, who),
            ZkBody::Watch { event, .. } => {
                // One-shot watches fire once; persistent ones stay.
                let path = msg.path.unwrap_or("");
                let fired: &[&str] = match event.event_type {
                    3 | 1 => &["data"],
                    4 => &["child"],
                    2 => &["data", "child"],
                    _ => &[],
                };
                self.retain(who, |(p, k)| p != path || !fired.contains(k));
            }
            _ => {}
        }
    }

    fn request(&mut self, msg: &ZkMessage<'_>, who: Watcher, body: &RequestBody<'_>) {
        let ZkBody::Request { request, .. } = msg.body else {
            return;
        };
        let (watch, add_mode, watcher_type) = match body {
            RequestBody::Exists(r)
            | RequestBody::GetData(r)
            | RequestBody::GetChildren(r)
            | RequestBody::GetChildren2(r) => (r.watch, 0, 3),
            RequestBody::AddWatch(r) => (false, r.mode, 3),
            RequestBody::RemoveWatches(r) | RequestBody::CheckWatches(r) => {
                (false, 0, r.watcher_type)
            }
            _ => (false, 0, 3),
        };
        // Only a request that can set or remove a watch needs its path at the reply; the others
        // are asked too (their reply files the watcher), without copying the path.
        let path_used = watch || matches!(request.opcode, OpCode::AddWatch | OpCode::RemoveWatches);
        let path = match msg.path {
            Some(path) if path_used => path.to_string(),
            _ => String::new(),
        };
        self.asked.insert(
            (msg.client, request.xid),
            Asked {
                opcode: request.opcode,
                path,
                watch,
                add_mode,
                watcher_type,
            },
        );
        // setWatches re-arms watches after a reconnect; the server accepts them all.
        let mut rearm = |list: &zk_proto::jute::JuteVec<'_, zk_proto::jute::UString<'_>>,
                         kind: &'static str| {
            for p in list.iter().flatten() {
                self.hold(who, p.to_string_lossy().into_owned(), kind);
            }
        };
        match body {
            RequestBody::SetWatches(w) => {
                rearm(&w.data_watches, "data");
                rearm(&w.exist_watches, "data");
                rearm(&w.child_watches, "child");
            }
            RequestBody::SetWatches2(w) => {
                rearm(&w.data_watches, "data");
                rearm(&w.exist_watches, "data");
                rearm(&w.child_watches, "child");
                rearm(&w.persistent_watches, "persistent");
                rearm(&w.persistent_recursive_watches, "persistent_recursive");
            }
            _ => {}
        }
    }

    fn reply(&mut self, msg: &ZkMessage<'_>, who: Watcher) {
        let Some(xid) = msg.xid() else { return };
        let Some(req) = self.asked.remove(&(msg.client, xid)) else {
            return;
        };
        let err = msg.err().unwrap_or(-1);
        let path = req.path;
        // A matched reply puts its watcher in the table, whatever the outcome.
        self.held.entry(who).or_default();
        match req.opcode {
            // exists sets a watch whether or not the node exists.
            OpCode::Exists if req.watch && (err == 0 || err == -101) => {
                self.hold(who, path, "data");
            }
            OpCode::GetData if req.watch && err == 0 => self.hold(who, path, "data"),
            OpCode::GetChildren | OpCode::GetChildren2 if req.watch && err == 0 => {
                self.hold(who, path, "child");
            }
            OpCode::AddWatch if err == 0 => {
                let kind = if req.add_mode == 1 {
                    "persistent_recursive"
                } else {
                    "persistent"
                };
                self.hold(who, path, kind);
            }
            OpCode::RemoveWatches if err == 0 => {
                self.retain(who, |(p, k)| {
                    p != &path
                        || !match req.watcher_type {
                            1 => *k == "child",
                            2 => *k == "data",
                            _ => true,
                        }
                });
            }
            _ => {}
        }
    }

    /// Watches end with their session: a close, an expiry the server reports, or a lost
    /// connection not resumed within the session timeout (the server's view).
    fn end_sessions(&mut self, msg: &ZkMessage<'_>) {
        let now = msg.ts.0;
        if !self.disconnected.is_empty() && now > self.next_expiry {
            let mut expired = Vec::new();
            let mut next = i64::MAX;
            self.disconnected.retain(|s, lost| {
                let at = expiry(*lost);
                if now > at {
                    expired.push(*s);
                } else {
                    next = next.min(at);
                }
                now <= at
            });
            self.next_expiry = next;
            for s in expired {
                self.end(Watcher::Session(s));
            }
        }
        let Some(session) = msg.session else {
            return;
        };
        match msg.body {
            ZkBody::Connect { .. } => {
                // Resumed on a new connection: its watches are re-armed (setWatches follows).
                self.disconnected.remove(&session);
            }
            ZkBody::ConnectReply { reply, .. } => {
                if reply.time_out <= 0 {
                    self.end(Watcher::Session(session));
                } else {
                    self.timeouts.insert(session, i64::from(reply.time_out));
                }
            }
            ZkBody::Reply { reply, .. }
                if reply.opcode == Some(OpCode::CloseSession) && reply.header.err == 0 =>
            {
                self.end(Watcher::Session(session));
                self.timeouts.remove(&session);
            }
            ZkBody::Closed if self.held.contains_key(&Watcher::Session(session)) => {
                // Without a known timeout the capture cannot tell when it expires: kept.
                if let Some(&timeout) = self.timeouts.get(&session) {
                    let lost = (now, timeout);
                    if self.disconnected.is_empty() {
                        self.next_expiry = i64::MAX;
                    }
                    self.next_expiry = self.next_expiry.min(expiry(lost));
                    self.disconnected.insert(session, lost);
                }
            }
            _ => {}
        }
    }
}
