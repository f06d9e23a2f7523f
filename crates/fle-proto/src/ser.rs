//! `serde::Serialize` support (feature `serde`), hand-written so the JSON shape is explicit:
//!
//! * [`InitialMessage`] → `format` (`"old"`/`"v1"`/`"v2"`), `protocol_version` (number or
//!   null for the old format), `sid`, `election_addr` (list of every address, lossy UTF-8).
//! * [`Notification`] → `format` (`"28"`, `"36"`, `"40"`, `"44+N"`), `size` (payload bytes),
//!   `state` (name), `leader`, `zxid` (number) and `zxid_hex` (`"0x…"` of the unsigned value),
//!   `election_epoch`, `peer_epoch` (null in the 28-byte format), `version` (null before
//!   40 bytes), `config` (text or null), `sentinel_vote` (observer's `Long.MIN_VALUE` vote).
//! * `QuorumAuthPacket` (from `zkwire-jute`) → `magic`, `status`, `status_name` and
//!   `token_len`; the token itself is a credential exchange and is never emitted.

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use crate::initial::InitialMessage;
use crate::notification::{Notification, ServerState};
use zkwire_jute::ser::Hex;

impl Serialize for ServerState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Adapter serializing an address iterator as a sequence of lossy strings.
struct Addrs<'m, 'a>(&'m InitialMessage<'a>);

impl Serialize for Addrs<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.addresses().map(|a| a.to_string()))
    }
}

impl Serialize for InitialMessage<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("InitialMessage", 4)?;
        st.serialize_field("format", self.format.name())?;
        st.serialize_field("protocol_version", &self.protocol_version())?;
        st.serialize_field("sid", &self.sid)?;
        st.serialize_field("election_addr", &Addrs(self))?;
        st.end()
    }
}

impl Serialize for Notification<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Notification", 11)?;
        st.serialize_field("format", self.format().name())?;
        st.serialize_field("size", &self.encoded_len())?;
        st.serialize_field("state", &self.state)?;
        st.serialize_field("leader", &self.leader)?;
        st.serialize_field("zxid", &self.zxid)?;
        st.serialize_field("zxid_hex", &Hex::of(self.zxid))?;
        st.serialize_field("election_epoch", &self.election_epoch)?;
        st.serialize_field("peer_epoch", &self.peer_epoch)?;
        st.serialize_field("version", &self.version)?;
        st.serialize_field("config", &self.config.map(|c| c.to_string_lossy()))?;
        st.serialize_field("sentinel_vote", &self.is_sentinel_vote())?;
        st.end()
    }
}
