//! Who sent a notification: server ids learned from the dynamic configurations notifications
//! carry, and the initiator of a connection whose initial message the capture missed, where
//! the capture tells it.

use super::handler::FleDump;
use fle_proto::{Notification, ServerState};
use std::collections::BTreeSet;
use std::io::Write;
use std::net::SocketAddr;

impl<W: Write> FleDump<W> {
    /// Learns server ids from the dynamic configuration carried by notifications
    /// (`server.N=host:quorumport:electionport[:role][;client]`): an acceptor that never
    /// initiated a connection (the lowest id, when the others connected to it first) is
    /// identified this way.
    pub(super) fn learn_from_config(&mut self, config: &str) {
        let mut members = BTreeSet::new();
        for line in config.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let Some(Ok(sid)) = key.trim().strip_prefix("server.").map(str::parse::<i64>) else {
                continue;
            };
            members.insert(sid);
            let addresses = value.split(';').next().unwrap_or("");
            // Several addresses (multiAddress) are separated by '|'.
            for address in addresses.split('|') {
                let parts: Vec<&str> = address.trim().split(':').collect();
                if parts.len() >= 3 {
                    let host = if parts[0] == "localhost" {
                        "127.0.0.1"
                    } else {
                        parts[0]
                    };
                    self.sids
                        .entry(format!("{host}:{}", parts[2]))
                        .or_insert(sid);
                }
            }
        }
        if !members.is_empty() {
            self.members = Some(members);
        }
    }

    /// The initiator of a connection whose initial message the capture missed, where the
    /// capture tells it (never a guess). `QuorumCnxManager` keeps only connections initiated
    /// by the larger sid, so the initiator is a server with a larger sid than the acceptor's
    /// (the ensemble's members are known from a dynamic configuration); among those it is:
    /// 1. the only one whose election address is on the initiator's host (a server may open
    ///    connections from another address of its host, so this only narrows the candidates);
    /// 2. the only one there is;
    /// 3. the one the connection's first LOOKING vote is for: a server's first vote of a round
    ///    is for itself (`lookForLeader` proposes its own id).
    pub(super) fn attribute_initiator(
        &self,
        (initiator, server): (SocketAddr, SocketAddr),
        n: &Notification<'_>,
        first_looking: bool,
    ) -> Option<i64> {
        let acceptor = *self.sids.get(&server.to_string())?;
        let candidate =
            |sid: i64| sid > acceptor && self.members.as_ref().is_none_or(|m| m.contains(&sid));
        let on_host: BTreeSet<i64> = self
            .sids
            .iter()
            .filter(|(addr, sid)| {
                candidate(**sid)
                    && addr
                        .parse::<SocketAddr>()
                        .is_ok_and(|a| a.ip() == initiator.ip())
            })
            .map(|(_, sid)| *sid)
            .collect();
        if let [only] = on_host.iter().collect::<Vec<_>>()[..] {
            return Some(*only);
        }
        if let Some(members) = &self.members {
            if let [only] = members.range(acceptor + 1..).collect::<Vec<_>>()[..] {
                return Some(*only);
            }
        }
        (first_looking && n.state == ServerState::Looking && candidate(n.leader))
            .then_some(n.leader)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fle::FleOptions;

    fn vote(leader: i64) -> Notification<'static> {
        Notification {
            state: ServerState::Looking,
            leader,
            zxid: 1,
            election_epoch: 2,
            peer_epoch: Some(1),
            version: Some(2),
            config: None,
            opaque_tail: &[],
        }
    }

    /// The three rules, and no answer where none holds.
    #[test]
    fn initiators_are_attributed_only_where_the_capture_tells() {
        let printer =
            crate::output::Printer::new(Vec::new(), crate::output::Format::Text, true, false, None);
        let opts = FleOptions {
            ports: vec![3888],
            no_config: false,
            limit: None,
        };
        let mut d = FleDump::new(opts, printer);
        d.learn_from_config(
            "server.1=10.0.0.1:2888:3888\nserver.2=10.0.0.2:2888:3888\nserver.3=10.0.0.3:2888:3888",
        );
        let at = |s: &str| s.parse::<SocketAddr>().expect("address");
        let to_1 = at("10.0.0.1:3888");
        // The host names one candidate (3 is on 10.0.0.3; 1, the acceptor, is no candidate).
        assert_eq!(
            d.attribute_initiator((at("10.0.0.3:40000"), to_1), &vote(2), false),
            Some(3)
        );
        // Only one member has a larger sid than the acceptor.
        let to_2 = at("10.0.0.2:3888");
        assert_eq!(
            d.attribute_initiator((at("10.0.0.9:40000"), to_2), &vote(1), false),
            Some(3)
        );
        // The first vote of a round, for a larger sid than the acceptor's.
        let from = at("10.0.0.9:40000");
        assert_eq!(d.attribute_initiator((from, to_1), &vote(2), true), Some(2));
        assert_eq!(d.attribute_initiator((from, to_1), &vote(2), false), None);
        assert_eq!(d.attribute_initiator((from, to_1), &vote(1), true), None);
    }
}
