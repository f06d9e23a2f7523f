//! `--sessions`: every session seen, with its client addresses, negotiated timeout, lifetime,
//! requests, ephemeral nodes created and how it ended.

use crate::zk::{session_hex, ZkBody, ZkMessage};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use zk_proto::{create_mode_name, message::RequestBody, OpCode};

/// One session's record.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub(super) struct Session {
    pub(super) clients: BTreeSet<String>,
    pub(super) timeout_ms: Option<i64>,
    pub(super) first_seen: f64,
    pub(super) last_seen: f64,
    pub(super) requests: u64,
    pub(super) ephemerals_created: u64,
    pub(super) ended: Option<&'static str>,
}

/// The sessions table, by session id as printed (`0x…`).
#[derive(Debug, Default)]
pub(super) struct Sessions {
    pub(super) by_id: BTreeMap<String, Session>,
    session_of_client: HashMap<String, String>,
    /// Create requests waiting for their reply: whether they ask for an ephemeral node.
    creates: HashMap<(SocketAddr, i32), bool>,
}

impl Sessions {
    pub(super) fn observe(&mut self, msg: &ZkMessage<'_>) {
        let ts = msg.ts.as_secs_f64();
        let client = msg.client.to_string();
        let session = match msg.session {
            Some(s) => session_hex(s),
            None => match self.session_of_client.get(&client) {
                Some(s) => s.clone(),
                None => return,
            },
        };
        match msg.body {
            ZkBody::ConnectReply { reply, .. } => {
                let requested = self.session_of_client.get(&client).cloned();
                if reply.time_out == 0 {
                    // The server refused to re-attach: the session the client asked for
                    // expired.
                    if let Some(old) = requested.and_then(|r| self.by_id.get_mut(&r)) {
                        old.ended = Some("expired");
                    }
                    return;
                }
                self.session_of_client
                    .insert(client.clone(), session.clone());
                let s = self.by_id.entry(session).or_insert_with(|| Session {
                    first_seen: ts,
                    ..Default::default()
                });
                s.timeout_ms = Some(i64::from(reply.time_out));
                s.clients.insert(client);
                s.last_seen = ts;
                return;
            }
            ZkBody::Connect { .. } => {
                // A reconnect names the session it wants back.
                self.session_of_client.insert(client, session);
                return;
            }
            _ => {}
        }
        let s = self.by_id.entry(session).or_insert_with(|| Session {
            first_seen: ts,
            ..Default::default()
        });
        s.clients.insert(client);
        s.last_seen = s.last_seen.max(ts);
        match msg.body {
            ZkBody::Request { request, .. } => {
                s.requests += 1;
                if request.opcode == OpCode::CloseSession {
                    s.ended = Some("closed by client");
                }
                let mode = match request.body {
                    RequestBody::Create(c)
                    | RequestBody::Create2(c)
                    | RequestBody::CreateContainer(c) => Some(c.flags),
                    RequestBody::CreateTtl(c) => Some(c.flags),
                    _ => None,
                };
                if let Some(flags) = mode {
                    let ephemeral =
                        create_mode_name(flags).is_some_and(|m| m.starts_with("EPHEMERAL"));
                    self.creates.insert((msg.client, request.xid), ephemeral);
                }
            }
            ZkBody::BadRequest { .. } => s.requests += 1,
            ZkBody::Reply { .. } | ZkBody::BadReply { .. } => {
                let created = msg
                    .xid()
                    .and_then(|x| self.creates.remove(&(msg.client, x)));
                if created == Some(true) && msg.err() == Some(0) {
                    s.ephemerals_created += 1;
                }
            }
            ZkBody::Closed if s.ended.is_none() => s.ended = Some("connection closed"),
            _ => {}
        }
    }
}
