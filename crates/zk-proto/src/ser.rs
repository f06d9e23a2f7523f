//! `serde::Serialize` support (feature `serde`): hand-written pieces used by the derives.
//!
//! Shapes are chosen for log/JSON output rather than fidelity: zxids and session ids are
//! `"0x…"` strings, strings are lossy UTF-8, buffers become their length (`data_len`), and
//! credentials (AuthPacket.auth, SASL tokens, session passwords) are never emitted — only their
//! lengths — so a tool must opt in explicitly to print them from the raw records.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::codes::{create_mode_name, event_type_name, keeper_state_name, OpCode};
use crate::jute::Buffer;
use crate::multi::{
    MultiElement, MultiList, MultiOperationRecord, MultiRequestOp, MultiResponse, MultiResultEntry,
};
use crate::records::{Stat, WatcherEvent};

impl<'a, E: MultiElement<'a> + Serialize> Serialize for MultiList<'a, E> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl Serialize for MultiRequestOp<'_> {
    /// The op alone: its header is implied by the op (`err` is always -1 in requests).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.op.serialize(s)
    }
}

impl Serialize for MultiResultEntry<'_> {
    /// The result alone: an error result carries the header's error code itself.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.result.serialize(s)
    }
}

pub(crate) use zkwire_jute::ser::hex64;

pub(crate) fn buf_len<S: Serializer>(v: &Buffer<'_>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        None => s.serialize_none(),
        Some(b) => s.serialize_u64(b.len() as u64),
    }
}

pub(crate) fn slice_len<S: Serializer>(v: &&[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(v.len() as u64)
}

fn name_or_number<S: Serializer>(
    name: Option<&'static str>,
    v: i32,
    s: S,
) -> Result<S::Ok, S::Error> {
    match name {
        Some(n) => s.serialize_str(n),
        None => s.serialize_i32(v),
    }
}

pub(crate) fn create_mode<S: Serializer>(v: &i32, s: S) -> Result<S::Ok, S::Error> {
    name_or_number(create_mode_name(*v), *v, s)
}

pub(crate) fn event_type<S: Serializer>(v: &i32, s: S) -> Result<S::Ok, S::Error> {
    name_or_number(event_type_name(*v), *v, s)
}

pub(crate) fn keeper_state<S: Serializer>(v: &i32, s: S) -> Result<S::Ok, S::Error> {
    name_or_number(keeper_state_name(*v), *v, s)
}

pub(crate) fn op_name<S: Serializer>(v: &OpCode, s: S) -> Result<S::Ok, S::Error> {
    name_or_number(v.is_known().then(|| v.name()), v.as_i32(), s)
}

pub(crate) fn opt_op_name<S: Serializer>(v: &Option<OpCode>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => op_name(v, s),
        None => s.serialize_none(),
    }
}

/// Serializes `{key: v}`, so a wrapped value can sit in a flattened or tagged enum.
fn wrap<S: Serializer, T: Serialize + ?Sized>(
    key: &'static str,
    v: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(1))?;
    m.serialize_entry(key, v)?;
    m.end()
}

pub(crate) fn stat_field<S: Serializer>(v: &Stat, s: S) -> Result<S::Ok, S::Error> {
    wrap("stat", v, s)
}

pub(crate) fn ops_field<S: Serializer>(
    v: &MultiOperationRecord<'_>,
    s: S,
) -> Result<S::Ok, S::Error> {
    wrap("ops", v, s)
}

pub(crate) fn results_field<S: Serializer>(v: &MultiResponse<'_>, s: S) -> Result<S::Ok, S::Error> {
    wrap("results", v, s)
}

pub(crate) fn event_field<S: Serializer>(v: &WatcherEvent<'_>, s: S) -> Result<S::Ok, S::Error> {
    wrap("event", v, s)
}

pub(crate) fn body_len<S: Serializer>(v: &&[u8], s: S) -> Result<S::Ok, S::Error> {
    wrap("body_len", &v.len(), s)
}
