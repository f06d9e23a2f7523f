//! Whole-message decoding: a frame payload (the bytes after the 4-byte length prefix) to a
//! [`Request`], [`Reply`], [`ConnectRequest`] or [`ConnectResponse`].
//!
//! Replies do not carry their opcode, so [`decode_reply`] takes the opcode of the matching
//! request (tracked by the caller, e.g. with [`crate::tracker::ConnectionTracker`]).

use nom::IResult;

use crate::codes::{xid, OpCode};
use crate::jute::{Encode, JuteStr};
use crate::multi::{
    parse_multi_operation_record, parse_multi_response, MultiOperationRecord, MultiResponse,
};
use crate::records::*;
use zkwire_jute::error::{complete, fail, from_nom};
use zkwire_jute::jute::int_at;
use zkwire_jute::DecodeError;

/// A decoded client request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Request<'a> {
    /// Transaction id from the RequestHeader.
    pub xid: i32,
    /// Opcode from the RequestHeader (always a known request opcode after a successful
    /// decode).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "op", serialize_with = "crate::ser::op_name")
    )]
    pub opcode: OpCode,
    /// The opcode-specific body.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub body: RequestBody<'a>,
}

/// Body of a request, one variant per opcode.
///
/// With the `serde` feature a body serializes as its record's fields (so it can be flattened
/// into [`Request`]); multi ops appear under `ops`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(untagged))]
#[non_exhaustive]
pub enum RequestBody<'a> {
    /// create (1).
    Create(CreateRequest<'a>),
    /// delete (2).
    Delete(DeleteRequest<'a>),
    /// exists (3).
    Exists(PathWatchRequest<'a>),
    /// getData (4).
    GetData(PathWatchRequest<'a>),
    /// setData (5).
    SetData(SetDataRequest<'a>),
    /// getACL (6).
    GetAcl(PathRequest<'a>),
    /// setACL (7).
    SetAcl(SetAclRequest<'a>),
    /// getChildren (8).
    GetChildren(PathWatchRequest<'a>),
    /// sync (9).
    Sync(PathRequest<'a>),
    /// ping (11): no body.
    Ping,
    /// getChildren2 (12).
    GetChildren2(PathWatchRequest<'a>),
    /// check (13).
    Check(CheckVersionRequest<'a>),
    /// multi (14).
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::ops_field"))]
    Multi(MultiOperationRecord<'a>),
    /// create2 (15).
    Create2(CreateRequest<'a>),
    /// reconfig (16).
    Reconfig(ReconfigRequest<'a>),
    /// checkWatches (17).
    CheckWatches(WatchesRequest<'a>),
    /// removeWatches (18).
    RemoveWatches(WatchesRequest<'a>),
    /// createContainer (19).
    CreateContainer(CreateRequest<'a>),
    /// deleteContainer (20).
    DeleteContainer(PathRequest<'a>),
    /// createTTL (21).
    CreateTtl(CreateTtlRequest<'a>),
    /// multiRead (22).
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::ops_field"))]
    MultiRead(MultiOperationRecord<'a>),
    /// auth (100).
    Auth(AuthPacket<'a>),
    /// setWatches (101).
    SetWatches(SetWatches<'a>),
    /// sasl (102).
    Sasl(SaslToken<'a>),
    /// getEphemerals (103).
    GetEphemerals(PathRequest<'a>),
    /// getAllChildrenNumber (104).
    GetAllChildrenNumber(PathRequest<'a>),
    /// setWatches2 (105).
    SetWatches2(SetWatches2<'a>),
    /// addWatch (106).
    AddWatch(AddWatchRequest<'a>),
    /// whoAmI (107): no body.
    WhoAmI,
    /// closeSession (-11): no body.
    CloseSession,
}

impl<'a> RequestBody<'a> {
    /// The node path the request is about: `None` for requests without one, and for a null
    /// path on the wire.
    pub fn path(&self) -> Option<JuteStr<'a>> {
        use RequestBody::*;
        match self {
            Create(r) | Create2(r) | CreateContainer(r) => r.path,
            CreateTtl(r) => r.path,
            Delete(r) => r.path,
            Exists(r) | GetData(r) | GetChildren(r) | GetChildren2(r) => r.path,
            SetData(r) => r.path,
            GetAcl(r)
            | Sync(r)
            | DeleteContainer(r)
            | GetEphemerals(r)
            | GetAllChildrenNumber(r) => r.path,
            SetAcl(r) => r.path,
            Check(r) => r.path,
            CheckWatches(r) | RemoveWatches(r) => r.path,
            AddWatch(r) => r.path,
            _ => None,
        }
    }

    /// Whether it is a read asking for a one-shot watch (exists, getData, getChildren or
    /// getChildren2 with its watch flag set); addWatch's persistent watches are not included.
    pub fn sets_watch(&self) -> bool {
        use RequestBody::*;
        matches!(self, Exists(r) | GetData(r) | GetChildren(r) | GetChildren2(r) if r.watch)
    }
}

impl Encode for RequestBody<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        use RequestBody::*;
        match self {
            Create(r) | Create2(r) | CreateContainer(r) => r.encode(out),
            CreateTtl(r) => r.encode(out),
            Delete(r) => r.encode(out),
            Exists(r) | GetData(r) | GetChildren(r) | GetChildren2(r) => r.encode(out),
            SetData(r) => r.encode(out),
            GetAcl(r)
            | Sync(r)
            | DeleteContainer(r)
            | GetEphemerals(r)
            | GetAllChildrenNumber(r) => r.encode(out),
            SetAcl(r) => r.encode(out),
            Check(r) => r.encode(out),
            Multi(r) | MultiRead(r) => r.encode(out),
            Reconfig(r) => r.encode(out),
            CheckWatches(r) | RemoveWatches(r) => r.encode(out),
            Auth(r) => r.encode(out),
            SetWatches(r) => r.encode(out),
            Sasl(r) => r.encode(out),
            SetWatches2(r) => r.encode(out),
            AddWatch(r) => r.encode(out),
            Ping | WhoAmI | CloseSession => {}
        }
    }
}

impl Encode for Request<'_> {
    /// Encodes the payload (RequestHeader + body), without the length prefix.
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        RequestHeader {
            xid: self.xid,
            opcode: self.opcode.as_i32(),
        }
        .encode(out);
        self.body.encode(out);
    }
}

fn map<'a, T>(
    r: IResult<&'a [u8], T>,
    f: impl FnOnce(T) -> RequestBody<'a>,
) -> IResult<&'a [u8], RequestBody<'a>> {
    r.map(|(i, v)| (i, f(v)))
}

/// Parses the body of a request with the given opcode (nom level; does not check for trailing
/// bytes). Opcodes that never appear as client requests (notification, error, createSession)
/// fail with `ErrorKind::Switch`.
pub fn parse_request_body(op: OpCode, i: &[u8]) -> IResult<&[u8], RequestBody<'_>> {
    use RequestBody as B;
    match op {
        OpCode::Create => map(parse_create_request(i), B::Create),
        OpCode::Delete => map(parse_delete_request(i), B::Delete),
        OpCode::Exists => map(parse_path_watch_request(i), B::Exists),
        OpCode::GetData => map(parse_path_watch_request(i), B::GetData),
        OpCode::SetData => map(parse_set_data_request(i), B::SetData),
        OpCode::GetAcl => map(parse_path_request(i), B::GetAcl),
        OpCode::SetAcl => map(parse_set_acl_request(i), B::SetAcl),
        OpCode::GetChildren => map(parse_path_watch_request(i), B::GetChildren),
        OpCode::Sync => map(parse_path_request(i), B::Sync),
        OpCode::Ping => Ok((i, B::Ping)),
        OpCode::GetChildren2 => map(parse_path_watch_request(i), B::GetChildren2),
        OpCode::Check => map(parse_check_version_request(i), B::Check),
        OpCode::Multi => map(parse_multi_operation_record(i), B::Multi),
        OpCode::Create2 => map(parse_create_request(i), B::Create2),
        OpCode::Reconfig => map(parse_reconfig_request(i), B::Reconfig),
        OpCode::CheckWatches => map(parse_watches_request(i), B::CheckWatches),
        OpCode::RemoveWatches => map(parse_watches_request(i), B::RemoveWatches),
        OpCode::CreateContainer => map(parse_create_request(i), B::CreateContainer),
        OpCode::DeleteContainer => map(parse_path_request(i), B::DeleteContainer),
        OpCode::CreateTtl => map(parse_create_ttl_request(i), B::CreateTtl),
        OpCode::MultiRead => map(parse_multi_operation_record(i), B::MultiRead),
        OpCode::Auth => map(parse_auth_packet(i), B::Auth),
        OpCode::SetWatches => map(parse_set_watches(i), B::SetWatches),
        OpCode::Sasl => map(parse_sasl_token(i), B::Sasl),
        OpCode::GetEphemerals => map(parse_path_request(i), B::GetEphemerals),
        OpCode::GetAllChildrenNumber => map(parse_path_request(i), B::GetAllChildrenNumber),
        OpCode::SetWatches2 => map(parse_set_watches2(i), B::SetWatches2),
        OpCode::AddWatch => map(parse_add_watch_request(i), B::AddWatch),
        OpCode::WhoAmI => Ok((i, B::WhoAmI)),
        OpCode::CloseSession => Ok((i, B::CloseSession)),
        OpCode::Notification | OpCode::Error | OpCode::CreateSession | OpCode::Unknown(_) => {
            fail(i, nom::error::ErrorKind::Switch)
        }
    }
}

/// Whether an opcode can appear in a client request header.
fn is_request_opcode(op: OpCode) -> bool {
    !matches!(
        op,
        OpCode::Notification | OpCode::Error | OpCode::CreateSession | OpCode::Unknown(_)
    )
}

/// Whether a known opcode can appear in a request header; an unknown one is its own error.
fn check_request_opcode(op: OpCode) -> Result<OpCode, DecodeError> {
    match op {
        OpCode::Unknown(v) => Err(DecodeError::UnknownOpcode(v)),
        op if is_request_opcode(op) => Ok(op),
        op => Err(DecodeError::NotARequest(op.as_i32())),
    }
}

/// Decodes a request frame payload (RequestHeader + body); the body must use every byte.
pub fn decode_request(payload: &[u8]) -> Result<Request<'_>, DecodeError> {
    let (rest, h) = parse_request_header(payload).map_err(|e| from_nom(payload, e))?;
    let op = check_request_opcode(OpCode::from_i32(h.opcode))?;
    let body = complete(payload, parse_request_body(op, rest))?;
    Ok(Request {
        xid: h.xid,
        opcode: op,
        body,
    })
}

/// A decoded server frame (everything after the ConnectResponse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Reply<'a> {
    /// The ReplyHeader.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub header: ReplyHeader,
    /// The opcode the body was decoded as: implied by the xid for pings (11), auth (100) and
    /// notifications (0), else the request opcode passed in (`None` when untyped).
    #[cfg_attr(
        feature = "serde",
        serde(rename = "op", serialize_with = "crate::ser::opt_op_name")
    )]
    pub opcode: Option<OpCode>,
    /// The body.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub body: ReplyBody<'a>,
}

/// Body of a server frame.
///
/// With the `serde` feature a body serializes as its record's fields (flattened into
/// [`Reply`]); a bare Stat appears under `stat`, a notification under `event`, multi results
/// under `results`, and undecoded bytes only as `body_len` / `ignored_len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(untagged))]
#[non_exhaustive]
pub enum ReplyBody<'a> {
    /// No body (ping, auth, delete, setWatches, closeSession, check/removeWatches, …).
    Empty,
    /// Watch notification (xid -1).
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::event_field"))]
    Notification(WatcherEvent<'a>),
    /// `err != 0`: the body is not decoded; whatever followed the header is kept here
    /// (usually empty; a failed SASL step sends 4 bytes).
    Failed {
        /// Bytes after the header, not interpreted.
        #[cfg_attr(
            feature = "serde",
            serde(rename = "ignored_len", serialize_with = "crate::ser::slice_len")
        )]
        ignored: &'a [u8],
    },
    /// The request opcode is not known (e.g. the request was sent before the capture began).
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::body_len"))]
    Untyped(&'a [u8]),
    /// create (1).
    Create(CreateResponse<'a>),
    /// create2 (15), createContainer (19), createTTL (21) — see [`Reply::opcode`].
    Create2(Create2Response<'a>),
    /// exists (3).
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::stat_field"))]
    Exists(Stat),
    /// getData (4).
    GetData(GetDataResponse<'a>),
    /// setData (5).
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::stat_field"))]
    SetData(Stat),
    /// getACL (6).
    GetAcl(GetAclResponse<'a>),
    /// setACL (7).
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::stat_field"))]
    SetAcl(Stat),
    /// getChildren (8).
    GetChildren(GetChildrenResponse<'a>),
    /// sync (9).
    Sync(PathRequest<'a>),
    /// getChildren2 (12).
    GetChildren2(GetChildren2Response<'a>),
    /// Stand-alone check (13) answered by a pre-3.8.5 server with a SetDataResponse.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::stat_field"))]
    Check(Stat),
    /// multi (14).
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::results_field"))]
    Multi(MultiResponse<'a>),
    /// reconfig (16): the new config and the Stat of `/zookeeper/config`.
    Reconfig(GetDataResponse<'a>),
    /// multiRead (22).
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::results_field"))]
    MultiRead(MultiResponse<'a>),
    /// sasl (102).
    Sasl(SaslToken<'a>),
    /// getEphemerals (103).
    GetEphemerals(GetEphemeralsResponse<'a>),
    /// getAllChildrenNumber (104).
    GetAllChildrenNumber(GetAllChildrenNumberResponse),
    /// addWatch (106): a 4-byte ErrorResponse.
    AddWatch(ErrorResponse),
    /// whoAmI (107).
    WhoAmI(WhoAmIResponse<'a>),
}

impl Encode for ReplyBody<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        use ReplyBody::*;
        match self {
            Empty => {}
            Notification(r) => r.encode(out),
            Failed { ignored: b } | Untyped(b) => out.write_bytes(b),
            Create(r) => r.encode(out),
            Create2(r) => r.encode(out),
            Exists(s) | SetData(s) | SetAcl(s) | Check(s) => s.encode(out),
            GetData(r) | Reconfig(r) => r.encode(out),
            GetAcl(r) => r.encode(out),
            GetChildren(r) => r.encode(out),
            Sync(r) => r.encode(out),
            GetChildren2(r) => r.encode(out),
            Multi(r) | MultiRead(r) => r.encode(out),
            Sasl(r) => r.encode(out),
            GetEphemerals(r) => r.encode(out),
            GetAllChildrenNumber(r) => r.encode(out),
            AddWatch(r) => r.encode(out),
            WhoAmI(r) => r.encode(out),
        }
    }
}

impl ReplyBody<'_> {
    /// The node `Stat` the reply carries (exists, getData, setData, getACL, setACL,
    /// getChildren2, create2 and its kin, reconfig, an old server's check), else `None`.
    /// A multi's per-operation Stats are in its results.
    pub fn stat(&self) -> Option<&Stat> {
        use ReplyBody::*;
        match self {
            Exists(s) | SetData(s) | SetAcl(s) | Check(s) => Some(s),
            Create2(r) => Some(&r.stat),
            GetData(r) | Reconfig(r) => Some(&r.stat),
            GetAcl(r) => Some(&r.stat),
            GetChildren2(r) => Some(&r.stat),
            Empty
            | Notification(_)
            | Failed { .. }
            | Untyped(_)
            | Create(_)
            | GetChildren(_)
            | Sync(_)
            | Multi(_)
            | MultiRead(_)
            | Sasl(_)
            | GetEphemerals(_)
            | GetAllChildrenNumber(_)
            | AddWatch(_)
            | WhoAmI(_) => None,
        }
    }
}

impl Encode for Reply<'_> {
    /// Encodes the payload (ReplyHeader + body), without the length prefix.
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        self.header.encode(out);
        self.body.encode(out);
    }
}

fn rmap<'a, T>(
    r: IResult<&'a [u8], T>,
    f: impl FnOnce(T) -> ReplyBody<'a>,
) -> IResult<&'a [u8], ReplyBody<'a>> {
    r.map(|(i, v)| (i, f(v)))
}

/// Parses a successful (`err == 0`) reply body for `op` (nom level; no trailing-byte check).
/// Opcodes that never get replies (notification, error, createSession) fail with
/// `ErrorKind::Switch`.
pub fn parse_reply_body(op: OpCode, i: &[u8]) -> IResult<&[u8], ReplyBody<'_>> {
    use ReplyBody as B;
    match op {
        OpCode::Create => rmap(parse_create_response(i), B::Create),
        OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
            rmap(parse_create2_response(i), B::Create2)
        }
        OpCode::Exists => rmap(parse_stat(i), B::Exists),
        OpCode::GetData => rmap(parse_get_data_response(i), B::GetData),
        OpCode::SetData => rmap(parse_stat(i), B::SetData),
        OpCode::GetAcl => rmap(parse_get_acl_response(i), B::GetAcl),
        OpCode::SetAcl => rmap(parse_stat(i), B::SetAcl),
        OpCode::GetChildren => rmap(parse_get_children_response(i), B::GetChildren),
        OpCode::Sync => rmap(parse_path_request(i), B::Sync),
        OpCode::GetChildren2 => rmap(parse_get_children2_response(i), B::GetChildren2),
        // Modern servers reject a stand-alone check; old ones answered with a Stat.
        OpCode::Check if i.is_empty() => Ok((i, B::Empty)),
        OpCode::Check => rmap(parse_stat(i), B::Check),
        OpCode::Multi => rmap(parse_multi_response(i), B::Multi),
        OpCode::MultiRead => rmap(parse_multi_response(i), B::MultiRead),
        OpCode::Reconfig => rmap(parse_get_data_response(i), B::Reconfig),
        OpCode::Sasl => rmap(parse_sasl_token(i), B::Sasl),
        OpCode::GetEphemerals => rmap(parse_get_ephemerals_response(i), B::GetEphemerals),
        OpCode::GetAllChildrenNumber => rmap(
            parse_get_all_children_number_response(i),
            B::GetAllChildrenNumber,
        ),
        OpCode::AddWatch => rmap(parse_error_response(i), B::AddWatch),
        OpCode::WhoAmI => rmap(parse_who_am_i_response(i), B::WhoAmI),
        OpCode::Delete
        | OpCode::Ping
        | OpCode::CheckWatches
        | OpCode::RemoveWatches
        | OpCode::DeleteContainer
        | OpCode::Auth
        | OpCode::SetWatches
        | OpCode::SetWatches2
        | OpCode::CloseSession => Ok((i, B::Empty)),
        OpCode::Notification | OpCode::Error | OpCode::CreateSession | OpCode::Unknown(_) => {
            fail(i, nom::error::ErrorKind::Switch)
        }
    }
}

/// Decodes a server frame payload (ReplyHeader + body).
///
/// `request_opcode` is the opcode of the matching request; it is ignored for the special xids
/// (-1 notification, -2 ping, -4 auth), whose meaning is fixed. With `err != 0` the body is
/// not decoded ([`ReplyBody::Failed`]); with `None` it is kept raw ([`ReplyBody::Untyped`]).
/// Otherwise the body must consume the payload exactly.
pub fn decode_reply(
    payload: &[u8],
    request_opcode: Option<OpCode>,
) -> Result<Reply<'_>, DecodeError> {
    let (rest, header) = parse_reply_header(payload).map_err(|e| from_nom(payload, e))?;
    let opcode = match header.xid {
        // The Java client decodes a notification without looking at err; do the same.
        xid::NOTIFICATION => {
            let ev = complete(payload, parse_watcher_event(rest))?;
            return Ok(Reply {
                header,
                opcode: Some(OpCode::Notification),
                body: ReplyBody::Notification(ev),
            });
        }
        xid::PING => Some(OpCode::Ping),
        xid::AUTH => Some(OpCode::Auth),
        _ => request_opcode,
    };
    if header.err != 0 {
        return Ok(Reply {
            header,
            opcode,
            body: ReplyBody::Failed { ignored: rest },
        });
    }
    let Some(op) = opcode else {
        return Ok(Reply {
            header,
            opcode,
            body: ReplyBody::Untyped(rest),
        });
    };
    let op = check_request_opcode(op)?;
    let body = complete(payload, parse_reply_body(op, rest))?;
    Ok(Reply {
        header,
        opcode,
        body,
    })
}

/// Decodes the first client frame of a connection (bare ConnectRequest, readOnly by length).
pub fn decode_connect_request(payload: &[u8]) -> Result<ConnectRequest<'_>, DecodeError> {
    complete(payload, parse_connect_request_record(payload))
}

/// Decodes the first server frame of a connection (bare ConnectResponse, readOnly by length).
pub fn decode_connect_response(payload: &[u8]) -> Result<ConnectResponse<'_>, DecodeError> {
    complete(payload, parse_connect_response_record(payload))
}

/// Shape check for joining mid-stream: the payload looks like a ConnectRequest iff
/// `protocolVersion == 0`, it is at least 28 bytes and `len - 28 - passwd.len ∈ {0, 1}`.
pub fn looks_like_connect_request(payload: &[u8]) -> bool {
    connect_shape(payload, 28, 24)
}

/// Shape check for joining mid-stream: the payload looks like a ConnectResponse iff
/// `protocolVersion == 0`, it is at least 20 bytes and `len - 20 - passwd.len ∈ {0, 1}`.
pub fn looks_like_connect_response(payload: &[u8]) -> bool {
    connect_shape(payload, 20, 16)
}

fn connect_shape(payload: &[u8], fixed: usize, passwd_at: usize) -> bool {
    if payload.len() < fixed || int_at(payload, 0) != Some(0) {
        return false;
    }
    let Some(n) = int_at(payload, passwd_at) else {
        return false;
    };
    // A null password (-1) occupies no bytes.
    let n = match n {
        -1 => 0,
        n if n >= 0 => n as usize,
        _ => return false,
    };
    matches!((payload.len() - fixed).checked_sub(n), Some(0 | 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_request_and_reply() {
        let p = [0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 11];
        let r = decode_request(&p).unwrap();
        assert_eq!(r.body, RequestBody::Ping);
        assert_eq!(r.to_bytes(), p);
        let mut rp = vec![0xff, 0xff, 0xff, 0xfe];
        rp.extend_from_slice(&5i64.to_be_bytes());
        rp.extend_from_slice(&[0; 4]);
        let reply = decode_reply(&rp, None).unwrap();
        assert_eq!(reply.opcode, Some(OpCode::Ping));
        assert_eq!(reply.body, ReplyBody::Empty);
    }

    /// Only the four watching reads with their flag set ask for a one-shot watch.
    #[test]
    fn reads_with_the_watch_flag_set_a_watch() {
        let request = |opcode: i32, tail: &[u8]| {
            let mut p = vec![0, 0, 0, 1];
            p.extend_from_slice(&opcode.to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, 2, b'/', b'a']);
            p.extend_from_slice(tail);
            decode_request(&p).expect("decodes").body.sets_watch()
        };
        for opcode in [3, 4, 8, 12] {
            assert!(request(opcode, &[1]), "opcode {opcode}");
            assert!(!request(opcode, &[0]), "opcode {opcode}");
        }
        assert!(!request(2, &[0xff, 0xff, 0xff, 0xff]), "delete");
        assert!(!request(106, &[0, 0, 0, 1]), "addWatch is persistent");
    }

    /// Every reply that carries a node's Stat hands it out, whatever precedes it.
    #[test]
    fn replies_hand_out_their_stat() {
        let stat = Stat {
            czxid: 1,
            mzxid: 2,
            ctime: 3,
            mtime: 4,
            version: 5,
            cversion: 6,
            aversion: 7,
            ephemeral_owner: 8,
            data_length: 9,
            num_children: 10,
            pzxid: 11,
        };
        let empty_vector = 0i32.to_be_bytes();
        let path = [0, 0, 0, 2, b'/', b'a'];
        let cases: [(OpCode, &[u8]); 10] = [
            (OpCode::Exists, &[]),
            (OpCode::SetData, &[]),
            (OpCode::SetAcl, &[]),
            (OpCode::Check, &[]),
            (OpCode::Create2, &path),
            (OpCode::CreateTtl, &path),
            (OpCode::GetData, &path),
            (OpCode::Reconfig, &path),
            (OpCode::GetAcl, &empty_vector),
            (OpCode::GetChildren2, &empty_vector),
        ];
        for (op, head) in cases {
            let mut body = head.to_vec();
            body.extend_from_slice(&stat.to_bytes());
            let (rest, parsed) = parse_reply_body(op, &body).expect("parses");
            assert!(rest.is_empty(), "{op:?}");
            assert_eq!(parsed.stat(), Some(&stat), "{op:?}");
        }
        let (_, children) = parse_reply_body(OpCode::GetChildren, &empty_vector).expect("parses");
        assert_eq!(children.stat(), None);
        assert_eq!(ReplyBody::Empty.stat(), None);
    }

    #[test]
    fn errors() {
        assert_eq!(
            decode_request(&[0, 0, 0, 1, 0, 0, 0, 10]),
            Err(DecodeError::UnknownOpcode(10))
        );
        assert_eq!(
            decode_request(&[0, 0, 0, 1, 0, 0, 0, 11, 0]),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
        assert!(matches!(
            decode_request(&[0, 0, 0, 1, 0, 0, 0, 9, 0, 0]),
            Err(DecodeError::Truncated { .. })
        ));
        assert_eq!(
            decode_request(&[0, 0, 0, 1, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0xf0]),
            Err(DecodeError::Invalid {
                what: "length (negative, not -1)",
                offset: 8
            })
        );
    }

    #[test]
    fn connect_shapes() {
        let mut req = vec![0u8; 28];
        req[27] = 16;
        req.extend_from_slice(&[0; 16]);
        assert!(looks_like_connect_request(&req));
        req.push(0);
        assert!(looks_like_connect_request(&req));
        req.push(0);
        assert!(!looks_like_connect_request(&req));
        assert!(!looks_like_connect_response(&[0, 0, 0, 1]));
    }
}
