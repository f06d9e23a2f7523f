//! Jute records of the client protocol (`zookeeper.jute`, modules `org.apache.zookeeper.proto`
//! and `org.apache.zookeeper.data`), each with a nom
//! parser `parse_*`, a [`JuteDecode`] impl (so it can be a vector element or nested field) and
//! an [`Encode`] impl.
//!
//! Records borrow strings, buffers and vectors from the input; see [`crate::jute`].

use nom::IResult;

use crate::jute::{
    parse_bool, parse_buffer, parse_int, parse_long, Buffer, Encode, JuteDecode, JuteVec, UString,
};

use zkwire_jute::jute_record as record;

record! {
    /// Header of every request after the ConnectRequest.
    pub struct RequestHeader {
        /// Client-chosen transaction id (or a special xid, see [`crate::codes::xid`]).
        pub xid: i32,
        /// Opcode (`type` on the wire), see [`crate::OpCode`].
        pub opcode: i32,
    }
    /// Parses a [`RequestHeader`] (8 bytes).
    fn parse_request_header;
}

record! {
    /// Header of every server frame after the ConnectResponse.
    pub struct ReplyHeader {
        /// Copied from the request, or a special xid (-1 notification, -2 ping, -4 auth).
        pub xid: i32,
        /// Server zxid at reply time (0 for auth/SASL, -1 for UNIMPLEMENTED and old notifications).
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::hex64"))]
        pub zxid: i64,
        /// 0 or a negative error code, see [`crate::error_name`].
        pub err: i32,
    }
    /// Parses a [`ReplyHeader`] (16 bytes).
    fn parse_reply_header;
}

record! {
    /// Node metadata (68 bytes, fixed).
    pub struct Stat {
        /// zxid of the create.
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::hex64"))]
        pub czxid: i64,
        /// zxid of the last data change.
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::hex64"))]
        pub mzxid: i64,
        /// Creation time, ms since the epoch.
        pub ctime: i64,
        /// Last modification time, ms since the epoch.
        pub mtime: i64,
        /// Data version.
        pub version: i32,
        /// Child list version.
        pub cversion: i32,
        /// ACL version.
        pub aversion: i32,
        /// Owning session of an ephemeral node, else 0.
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::hex64"))]
        pub ephemeral_owner: i64,
        /// Data length in bytes.
        pub data_length: i32,
        /// Number of children.
        pub num_children: i32,
        /// zxid of the last child-list change.
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::hex64"))]
        pub pzxid: i64,
    }
    /// Parses a [`Stat`] (68 bytes).
    fn parse_stat;
}

record! {
    /// An identity: scheme plus scheme-specific id (e.g. `world`/`anyone`).
    pub struct Id<'a> {
        /// Auth scheme.
        pub scheme: UString<'a>,
        /// Scheme-specific identity.
        pub id: UString<'a>,
    }
    /// Parses an [`Id`].
    fn parse_id;
}

record! {
    /// One ACL entry.
    pub struct Acl<'a> {
        /// Permission bits, see [`crate::codes::perms`].
        pub perms: i32,
        /// Who the permissions apply to.
        #[cfg_attr(feature = "serde", serde(flatten))]
        pub id: Id<'a>,
    }
    /// Parses an [`Acl`].
    fn parse_acl;
}

record! {
    /// One authenticated identity of a session (whoAmI, 3.7+).
    pub struct ClientInfo<'a> {
        /// Auth scheme.
        pub auth_scheme: UString<'a>,
        /// User name within the scheme.
        pub user: UString<'a>,
    }
    /// Parses a [`ClientInfo`].
    fn parse_client_info;
}

record! {
    /// Body of create (1), create2 (15) and createContainer (19).
    pub struct CreateRequest<'a> {
        /// Path of the node to create.
        pub path: UString<'a>,
        /// Initial data.
        #[cfg_attr(feature = "serde", serde(rename = "data_len", serialize_with = "crate::ser::buf_len"))]
        pub data: Buffer<'a>,
        /// ACL of the new node.
        pub acl: JuteVec<'a, Acl<'a>>,
        /// Create flags, see [`crate::create_mode_name`].
        #[cfg_attr(feature = "serde", serde(rename = "mode", serialize_with = "crate::ser::create_mode"))]
        pub flags: i32,
    }
    /// Parses a [`CreateRequest`].
    fn parse_create_request;
}

record! {
    /// Body of createTTL (21).
    pub struct CreateTtlRequest<'a> {
        /// Path of the node to create.
        pub path: UString<'a>,
        /// Initial data.
        #[cfg_attr(feature = "serde", serde(rename = "data_len", serialize_with = "crate::ser::buf_len"))]
        pub data: Buffer<'a>,
        /// ACL of the new node.
        pub acl: JuteVec<'a, Acl<'a>>,
        /// Create flags (5 or 6).
        #[cfg_attr(feature = "serde", serde(rename = "mode", serialize_with = "crate::ser::create_mode"))]
        pub flags: i32,
        /// Time to live, ms.
        pub ttl: i64,
    }
    /// Parses a [`CreateTtlRequest`].
    fn parse_create_ttl_request;
}

record! {
    /// Reply body of create (1): the actual path (with any sequence suffix).
    pub struct CreateResponse<'a> {
        /// Created path.
        pub path: UString<'a>,
    }
    /// Parses a [`CreateResponse`].
    fn parse_create_response;
}

record! {
    /// Reply body of create2, createContainer and createTTL.
    pub struct Create2Response<'a> {
        /// Created path.
        pub path: UString<'a>,
        /// Stat of the new node.
        pub stat: Stat,
    }
    /// Parses a [`Create2Response`].
    fn parse_create2_response;
}

record! {
    /// Body of delete (2).
    pub struct DeleteRequest<'a> {
        /// Path to delete.
        pub path: UString<'a>,
        /// Expected version (-1 = any).
        pub version: i32,
    }
    /// Parses a [`DeleteRequest`].
    fn parse_delete_request;
}

record! {
    /// Body of exists (3), getData (4), getChildren (8) and getChildren2 (12).
    pub struct PathWatchRequest<'a> {
        /// Node path.
        pub path: UString<'a>,
        /// Whether to leave a watch.
        pub watch: bool,
    }
    /// Parses a [`PathWatchRequest`].
    fn parse_path_watch_request;
}

record! {
    /// A record holding only a path: getACL, sync (request and reply), getAllChildrenNumber,
    /// getEphemerals (prefix path) and deleteContainer requests.
    pub struct PathRequest<'a> {
        /// Node path (or prefix for getEphemerals).
        pub path: UString<'a>,
    }
    /// Parses a [`PathRequest`].
    fn parse_path_request;
}

record! {
    /// Reply body of getData (4) and reconfig (16).
    pub struct GetDataResponse<'a> {
        /// Node data.
        #[cfg_attr(feature = "serde", serde(rename = "data_len", serialize_with = "crate::ser::buf_len"))]
        pub data: Buffer<'a>,
        /// Node Stat.
        pub stat: Stat,
    }
    /// Parses a [`GetDataResponse`].
    fn parse_get_data_response;
}

record! {
    /// Body of setData (5).
    pub struct SetDataRequest<'a> {
        /// Node path.
        pub path: UString<'a>,
        /// New data.
        #[cfg_attr(feature = "serde", serde(rename = "data_len", serialize_with = "crate::ser::buf_len"))]
        pub data: Buffer<'a>,
        /// Expected version (-1 = any).
        pub version: i32,
    }
    /// Parses a [`SetDataRequest`].
    fn parse_set_data_request;
}

record! {
    /// Reply body of getACL (6).
    pub struct GetAclResponse<'a> {
        /// The node's ACL.
        pub acl: JuteVec<'a, Acl<'a>>,
        /// Node Stat.
        pub stat: Stat,
    }
    /// Parses a [`GetAclResponse`].
    fn parse_get_acl_response;
}

record! {
    /// Body of setACL (7).
    pub struct SetAclRequest<'a> {
        /// Node path.
        pub path: UString<'a>,
        /// New ACL.
        pub acl: JuteVec<'a, Acl<'a>>,
        /// Expected ACL version (-1 = any).
        pub version: i32,
    }
    /// Parses a [`SetAclRequest`].
    fn parse_set_acl_request;
}

record! {
    /// Reply body of getChildren (8).
    pub struct GetChildrenResponse<'a> {
        /// Child names (not paths).
        pub children: JuteVec<'a, UString<'a>>,
    }
    /// Parses a [`GetChildrenResponse`].
    fn parse_get_children_response;
}

record! {
    /// Reply body of getChildren2 (12).
    pub struct GetChildren2Response<'a> {
        /// Child names (not paths).
        pub children: JuteVec<'a, UString<'a>>,
        /// Parent Stat.
        pub stat: Stat,
    }
    /// Parses a [`GetChildren2Response`].
    fn parse_get_children2_response;
}

record! {
    /// Body of check (13), normally inside multi.
    pub struct CheckVersionRequest<'a> {
        /// Node path.
        pub path: UString<'a>,
        /// Expected version.
        pub version: i32,
    }
    /// Parses a [`CheckVersionRequest`].
    fn parse_check_version_request;
}

record! {
    /// Body of reconfig (16).
    pub struct ReconfigRequest<'a> {
        /// Comma-separated server specs to add (incremental mode).
        pub joining_servers: UString<'a>,
        /// Comma-separated server ids to remove (incremental mode).
        pub leaving_servers: UString<'a>,
        /// Complete new membership (non-incremental mode).
        pub new_members: UString<'a>,
        /// Expected current config version, or -1.
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::hex64"))]
        pub cur_config_id: i64,
    }
    /// Parses a [`ReconfigRequest`].
    fn parse_reconfig_request;
}

record! {
    /// Body of checkWatches (17) and removeWatches (18).
    pub struct WatchesRequest<'a> {
        /// Node path.
        pub path: UString<'a>,
        /// Watcher type, see [`crate::codes::watcher_type_name`].
        pub watcher_type: i32,
    }
    /// Parses a [`WatchesRequest`].
    fn parse_watches_request;
}

record! {
    /// Body of addWatch (106).
    pub struct AddWatchRequest<'a> {
        /// Node path.
        pub path: UString<'a>,
        /// 0 PERSISTENT, 1 PERSISTENT_RECURSIVE.
        pub mode: i32,
    }
    /// Parses an [`AddWatchRequest`].
    fn parse_add_watch_request;
}

record! {
    /// Body of auth (100). `auth` is a credential (often a clear-text password).
    pub struct AuthPacket<'a> {
        /// Always 0.
        pub auth_type: i32,
        /// Auth scheme, e.g. `digest`.
        pub scheme: UString<'a>,
        /// Credential bytes; serialized only as its length.
        #[cfg_attr(feature = "serde", serde(rename = "auth_len", serialize_with = "crate::ser::buf_len"))]
        pub auth: Buffer<'a>,
    }
    /// Parses an [`AuthPacket`].
    fn parse_auth_packet;
}

record! {
    /// Body of a SASL request (GetSASLRequest) or reply (SetSASLResponse).
    pub struct SaslToken<'a> {
        /// SASL token; serialized only as its length.
        #[cfg_attr(feature = "serde", serde(rename = "token_len", serialize_with = "crate::ser::buf_len"))]
        pub token: Buffer<'a>,
    }
    /// Parses a [`SaslToken`].
    fn parse_sasl_token;
}

record! {
    /// Body of setWatches (101).
    pub struct SetWatches<'a> {
        /// The client's last seen zxid.
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::hex64"))]
        pub relative_zxid: i64,
        /// Paths with data watches.
        pub data_watches: JuteVec<'a, UString<'a>>,
        /// Paths with exist watches.
        pub exist_watches: JuteVec<'a, UString<'a>>,
        /// Paths with child watches.
        pub child_watches: JuteVec<'a, UString<'a>>,
    }
    /// Parses a [`SetWatches`].
    fn parse_set_watches;
}

record! {
    /// Body of setWatches2 (105).
    pub struct SetWatches2<'a> {
        /// The client's last seen zxid.
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::hex64"))]
        pub relative_zxid: i64,
        /// Paths with data watches.
        pub data_watches: JuteVec<'a, UString<'a>>,
        /// Paths with exist watches.
        pub exist_watches: JuteVec<'a, UString<'a>>,
        /// Paths with child watches.
        pub child_watches: JuteVec<'a, UString<'a>>,
        /// Paths with persistent watches.
        pub persistent_watches: JuteVec<'a, UString<'a>>,
        /// Paths with persistent recursive watches.
        pub persistent_recursive_watches: JuteVec<'a, UString<'a>>,
    }
    /// Parses a [`SetWatches2`].
    fn parse_set_watches2;
}

record! {
    /// Reply body of getEphemerals (103).
    pub struct GetEphemeralsResponse<'a> {
        /// Full paths of the session's ephemeral nodes.
        pub ephemerals: JuteVec<'a, UString<'a>>,
    }
    /// Parses a [`GetEphemeralsResponse`].
    fn parse_get_ephemerals_response;
}

record! {
    /// Reply body of getAllChildrenNumber (104).
    pub struct GetAllChildrenNumberResponse {
        /// Number of descendants.
        pub total_number: i32,
    }
    /// Parses a [`GetAllChildrenNumberResponse`].
    fn parse_get_all_children_number_response;
}

record! {
    /// Reply body of whoAmI (107).
    pub struct WhoAmIResponse<'a> {
        /// The session's identities.
        pub client_info: JuteVec<'a, ClientInfo<'a>>,
    }
    /// Parses a [`WhoAmIResponse`].
    fn parse_who_am_i_response;
}

record! {
    /// An error result (addWatch reply body, multi error result).
    pub struct ErrorResponse {
        /// Error code, see [`crate::error_name`].
        pub err: i32,
    }
    /// Parses an [`ErrorResponse`].
    fn parse_error_response;
}

record! {
    /// Header of each op and result inside multi/multiRead.
    pub struct MultiHeader {
        /// Op or result type (an opcode, or -1 for error results and the done marker).
        pub op_type: i32,
        /// True only for the end marker.
        pub done: bool,
        /// -1 in requests; the op's error code in results.
        pub err: i32,
    }
    /// Parses a [`MultiHeader`] (9 bytes).
    fn parse_multi_header;
}

record! {
    /// Body of a watch notification (xid -1).
    pub struct WatcherEvent<'a> {
        /// Event type, see [`crate::codes::event_type_name`].
        #[cfg_attr(feature = "serde", serde(rename = "type", serialize_with = "crate::ser::event_type"))]
        pub event_type: i32,
        /// Keeper state, see [`crate::codes::keeper_state_name`] (always 3 on the wire).
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::keeper_state"))]
        pub state: i32,
        /// Server-side path (includes any chroot).
        pub path: UString<'a>,
    }
    /// Parses a [`WatcherEvent`].
    fn parse_watcher_event;
}

/// Body of exists (3).
pub type ExistsRequest<'a> = PathWatchRequest<'a>;
/// Body of getData (4).
pub type GetDataRequest<'a> = PathWatchRequest<'a>;
/// Body of getChildren (8).
pub type GetChildrenRequest<'a> = PathWatchRequest<'a>;
/// Body of getChildren2 (12).
pub type GetChildren2Request<'a> = PathWatchRequest<'a>;
/// Body of getACL (6).
pub type GetAclRequest<'a> = PathRequest<'a>;
/// Body of sync (9).
pub type SyncRequest<'a> = PathRequest<'a>;
/// Reply body of sync (9).
pub type SyncResponse<'a> = PathRequest<'a>;
/// Body of getAllChildrenNumber (104).
pub type GetAllChildrenNumberRequest<'a> = PathRequest<'a>;
/// Body of getEphemerals (103): the prefix path.
pub type GetEphemeralsRequest<'a> = PathRequest<'a>;
/// Body of deleteContainer (20).
pub type DeleteContainerRequest<'a> = PathRequest<'a>;
/// Body of checkWatches (17).
pub type CheckWatchesRequest<'a> = WatchesRequest<'a>;
/// Body of removeWatches (18).
pub type RemoveWatchesRequest<'a> = WatchesRequest<'a>;
/// Body of sasl (102).
pub type GetSaslRequest<'a> = SaslToken<'a>;
/// Reply body of sasl (102).
pub type SetSaslResponse<'a> = SaslToken<'a>;

/// First client frame of a connection (no RequestHeader).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ConnectRequest<'a> {
    /// Always 0.
    pub protocol_version: i32,
    /// Highest zxid the client has seen.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::hex64"))]
    pub last_zxid_seen: i64,
    /// Requested session timeout, ms.
    pub time_out: i32,
    /// 0 for a new session, else the session to re-attach.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::hex64"))]
    pub session_id: i64,
    /// Session password; serialized only as its length.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "passwd_len", serialize_with = "crate::ser::buf_len")
    )]
    pub passwd: Buffer<'a>,
    /// The optional trailing readOnly flag: `None` when the byte is absent (decided by length).
    pub read_only: Option<bool>,
}

/// First server frame of a connection (no ReplyHeader).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ConnectResponse<'a> {
    /// Always 0.
    pub protocol_version: i32,
    /// Negotiated timeout, ms; 0 means the session is invalid/expired.
    pub time_out: i32,
    /// Session id (0 when invalid/expired).
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::hex64"))]
    pub session_id: i64,
    /// Session password; serialized only as its length.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "passwd_len", serialize_with = "crate::ser::buf_len")
    )]
    pub passwd: Buffer<'a>,
    /// The optional trailing readOnly flag: `None` when the byte is absent (decided by length).
    pub read_only: Option<bool>,
}

/// Reads the optional trailing readOnly byte: present iff input remains (older clients and
/// servers omit it: upstream `ClientCnxn.primeConnection`, `ZooKeeperServer.finishSessionInit`);
/// a caller checking for trailing bytes catches anything longer.
fn parse_read_only(i: &[u8]) -> IResult<&[u8], Option<bool>> {
    if i.is_empty() {
        Ok((i, None))
    } else {
        let (i, b) = parse_bool(i)?;
        Ok((i, Some(b)))
    }
}

/// Parses a [`ConnectRequest`]; the input must end where the frame ends, since the readOnly
/// byte is detected by the remaining length.
pub fn parse_connect_request_record(i: &[u8]) -> IResult<&[u8], ConnectRequest<'_>> {
    let (i, protocol_version) = parse_int(i)?;
    let (i, last_zxid_seen) = parse_long(i)?;
    let (i, time_out) = parse_int(i)?;
    let (i, session_id) = parse_long(i)?;
    let (i, passwd) = parse_buffer(i)?;
    let (i, read_only) = parse_read_only(i)?;
    Ok((
        i,
        ConnectRequest {
            protocol_version,
            last_zxid_seen,
            time_out,
            session_id,
            passwd,
            read_only,
        },
    ))
}

/// Parses a [`ConnectResponse`]; the input must end where the frame ends (see
/// [`parse_connect_request_record`]).
pub fn parse_connect_response_record(i: &[u8]) -> IResult<&[u8], ConnectResponse<'_>> {
    let (i, protocol_version) = parse_int(i)?;
    let (i, time_out) = parse_int(i)?;
    let (i, session_id) = parse_long(i)?;
    let (i, passwd) = parse_buffer(i)?;
    let (i, read_only) = parse_read_only(i)?;
    Ok((
        i,
        ConnectResponse {
            protocol_version,
            time_out,
            session_id,
            passwd,
            read_only,
        },
    ))
}

impl Encode for ConnectRequest<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        self.protocol_version.encode(out);
        self.last_zxid_seen.encode(out);
        self.time_out.encode(out);
        self.session_id.encode(out);
        self.passwd.encode(out);
        if let Some(b) = self.read_only {
            b.encode(out);
        }
    }
}

impl Encode for ConnectResponse<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        self.protocol_version.encode(out);
        self.time_out.encode(out);
        self.session_id.encode(out);
        self.passwd.encode(out);
        if let Some(b) = self.read_only {
            b.encode(out);
        }
    }
}

impl<'a> JuteDecode<'a> for ConnectRequest<'a> {
    fn decode(i: &'a [u8]) -> IResult<&'a [u8], Self> {
        parse_connect_request_record(i)
    }
}

impl<'a> JuteDecode<'a> for ConnectResponse<'a> {
    fn decode(i: &'a [u8]) -> IResult<&'a [u8], Self> {
        parse_connect_response_record(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jute::JuteStr;

    #[test]
    fn stat_is_68_bytes() {
        let s = Stat {
            czxid: 1,
            pzxid: -1,
            ..Stat::default()
        };
        let b = s.to_bytes();
        assert_eq!(b.len(), 68);
        assert_eq!(parse_stat(&b), Ok((&[][..], s)));
    }

    #[test]
    fn create_request_round_trip() {
        let mut acl = Vec::new();
        crate::jute::write_vector(
            &mut acl,
            Some(
                &[Acl {
                    perms: 31,
                    id: Id {
                        scheme: Some(JuteStr::from("world")),
                        id: Some(JuteStr::from("anyone")),
                    },
                }][..],
            ),
        );
        let (_, acl) = crate::jute::parse_vector::<Acl<'_>>(&acl).unwrap();
        let r = CreateRequest {
            path: Some("/p".into()),
            data: Some(b"x"),
            acl,
            flags: 3,
        };
        let b = r.to_bytes();
        assert_eq!(parse_create_request(&b), Ok((&[][..], r)));
    }

    #[test]
    fn connect_read_only_by_length() {
        let mut c = ConnectResponse {
            protocol_version: 0,
            time_out: 1,
            session_id: 2,
            passwd: Some(&[0; 16]),
            read_only: None,
        };
        assert_eq!(c.to_bytes().len(), 36);
        assert_eq!(parse_connect_response_record(&c.to_bytes()).unwrap().1, c);
        c.read_only = Some(true);
        assert_eq!(c.to_bytes().len(), 37);
        assert_eq!(parse_connect_response_record(&c.to_bytes()).unwrap().1, c);
    }
}
