//! Transactions (the `org.apache.zookeeper.txn` records of `zookeeper.jute`; the entry as
//! upstream `Request.getSerializeData` writes it and `SerializeUtils.deserializeTxn` reads it):
//! the txn entry carried by PROPOSAL, INFORM and INFORMANDACTIVATE — `TxnHeader`, a record
//! chosen by `TxnHeader.type`, and an optional `TxnDigest` (3.6+).
//!
//! The entry has no flags: the record type comes from the header, and the digest is present
//! exactly when 12 bytes remain after the record ([`decode_txn_entry`] applies these rules,
//! including the closeSession special case). Records borrow from the packet's data buffer.

use nom::error::ErrorKind;
use nom::IResult;
use zk_proto::codes::OpCode;
use zk_proto::jute::{
    parse_bool, parse_buffer, parse_int, parse_ustring, parse_vector, Buffer, Encode, JuteDecode,
    JuteVec, UString,
};
use zk_proto::records::Acl;

use zkwire_jute::error::{complete, fail, from_nom};
use zkwire_jute::jute_record as record;
use zkwire_jute::DecodeError;

/// Transaction type codes (`ZooDefs.OpCode` values used in `TxnHeader.type`).
pub mod txn_type {
    /// createSession: `CreateSessionTxn`.
    pub const CREATE_SESSION: i32 = -10;
    /// closeSession: `CloseSessionTxn` (3.6+) or nothing.
    pub const CLOSE_SESSION: i32 = -11;
    /// error: `ErrorTxn` (a failed write still consumes a zxid).
    pub const ERROR: i32 = -1;
    /// create: `CreateTxn`.
    pub const CREATE: i32 = 1;
    /// delete: `DeleteTxn`.
    pub const DELETE: i32 = 2;
    /// setData: `SetDataTxn`.
    pub const SET_DATA: i32 = 5;
    /// setACL: `SetACLTxn`.
    pub const SET_ACL: i32 = 7;
    /// check: `CheckVersionTxn`.
    pub const CHECK: i32 = 13;
    /// multi: `MultiTxn`.
    pub const MULTI: i32 = 14;
    /// create2: `CreateTxn`.
    pub const CREATE2: i32 = 15;
    /// reconfig: `SetDataTxn` on `/zookeeper/config`.
    pub const RECONFIG: i32 = 16;
    /// createContainer: `CreateContainerTxn`.
    pub const CREATE_CONTAINER: i32 = 19;
    /// deleteContainer: `DeleteTxn`.
    pub const DELETE_CONTAINER: i32 = 20;
    /// createTTL: `CreateTTLTxn`.
    pub const CREATE_TTL: i32 = 21;
}

/// Whether `code` is a transaction type that can head a txn entry.
pub const fn is_txn_type(code: i32) -> bool {
    matches!(
        code,
        -11 | -10 | -1 | 1 | 2 | 5 | 7 | 13 | 14 | 15 | 16 | 19 | 20 | 21
    )
}

/// Whether `code` may appear as a sub-transaction inside a `MultiTxn` (the types
/// `DataTree.processTxn` accepts there).
pub const fn is_multi_sub_txn_type(code: i32) -> bool {
    matches!(code, -1 | 1 | 2 | 5 | 13 | 15 | 19 | 20 | 21)
}

/// ZooKeeper's name for a transaction type (`"create"`, `"setData"`, `"createSession"`, …).
pub fn txn_type_name(code: i32) -> Option<&'static str> {
    if is_txn_type(code) {
        Some(OpCode::from_i32(code).name())
    } else {
        None
    }
}

record! {
    /// Header of every transaction (32 bytes).
    pub struct TxnHeader {
        /// Session id (`clientId` on the wire).
        #[cfg_attr(feature = "serde", serde(rename = "session", serialize_with = "crate::ser::hex64"))]
        pub client_id: i64,
        /// Client xid (0 for createSession and expiry closes).
        pub cxid: i32,
        /// The transaction's zxid (equals the QuorumPacket zxid).
        pub zxid: i64,
        /// Leader wall clock, ms since the epoch.
        pub time: i64,
        /// Transaction type, see [`txn_type`].
        #[cfg_attr(feature = "serde", serde(rename = "type_code"))]
        pub txn_type: i32,
    }
    /// Parses a [`TxnHeader`].
    fn parse_txn_header;
}

record! {
    /// Digest of the data tree after the transaction (3.6+, 12 bytes).
    pub struct TxnDigest {
        /// Digest algorithm version (2 in every release so far).
        pub version: i32,
        /// The tree digest.
        #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::hex64"))]
        pub tree_digest: i64,
    }
    /// Parses a [`TxnDigest`].
    fn parse_txn_digest;
}

record! {
    /// createSession record; also the body of a forwarded createSession REQUEST.
    pub struct CreateSessionTxn {
        /// Negotiated session timeout, ms (`timeOut`).
        pub time_out: i32,
    }
    /// Parses a [`CreateSessionTxn`].
    fn parse_create_session_txn;
}

record! {
    /// closeSession record (3.6+): the ephemeral nodes the close deletes.
    pub struct CloseSessionTxn<'a> {
        /// Paths of the session's ephemerals (`paths2Delete`).
        pub paths2_delete: JuteVec<'a, UString<'a>>,
    }
    /// Parses a [`CloseSessionTxn`].
    fn parse_close_session_txn;
}

/// create / create2 record (`CreateTxn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CreateTxn<'a> {
    /// Node path (with any sequence suffix already applied).
    pub path: UString<'a>,
    /// Initial data.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "data_len", serialize_with = "crate::ser::buf_len")
    )]
    pub data: Buffer<'a>,
    /// ACL of the new node.
    pub acl: JuteVec<'a, Acl<'a>>,
    /// Whether the node is ephemeral.
    pub ephemeral: bool,
    /// Parent cversion after the create; `None` for the 3.3 `CreateTxnV0` form, which lacks it.
    pub parent_cversion: Option<i32>,
}

/// Parses a [`CreateTxn`]. The 3.3 form without `parentCVersion` is recognised only when the
/// input ends right after `ephemeral`, so pass input that ends where the txn entry ends.
pub fn parse_create_txn(i: &[u8]) -> IResult<&[u8], CreateTxn<'_>> {
    let (i, path) = parse_ustring(i)?;
    let (i, data) = parse_buffer(i)?;
    let (i, acl) = parse_vector::<Acl<'_>>(i)?;
    let (i, ephemeral) = parse_bool(i)?;
    let (i, parent_cversion) = if i.is_empty() {
        (i, None)
    } else {
        let (i, v) = parse_int(i)?;
        (i, Some(v))
    };
    Ok((
        i,
        CreateTxn {
            path,
            data,
            acl,
            ephemeral,
            parent_cversion,
        },
    ))
}

impl Encode for CreateTxn<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        self.path.encode(out);
        self.data.encode(out);
        self.acl.encode(out);
        self.ephemeral.encode(out);
        if let Some(v) = self.parent_cversion {
            v.encode(out);
        }
    }
}

record! {
    /// createContainer record.
    pub struct CreateContainerTxn<'a> {
        /// Node path.
        pub path: UString<'a>,
        /// Initial data.
        #[cfg_attr(feature = "serde", serde(rename = "data_len", serialize_with = "crate::ser::buf_len"))]
        pub data: Buffer<'a>,
        /// ACL of the new node.
        pub acl: JuteVec<'a, Acl<'a>>,
        /// Parent cversion after the create.
        pub parent_cversion: i32,
    }
    /// Parses a [`CreateContainerTxn`].
    fn parse_create_container_txn;
}

record! {
    /// createTTL record.
    pub struct CreateTtlTxn<'a> {
        /// Node path.
        pub path: UString<'a>,
        /// Initial data.
        #[cfg_attr(feature = "serde", serde(rename = "data_len", serialize_with = "crate::ser::buf_len"))]
        pub data: Buffer<'a>,
        /// ACL of the new node.
        pub acl: JuteVec<'a, Acl<'a>>,
        /// Parent cversion after the create.
        pub parent_cversion: i32,
        /// Time to live, ms.
        pub ttl: i64,
    }
    /// Parses a [`CreateTtlTxn`].
    fn parse_create_ttl_txn;
}

record! {
    /// delete / deleteContainer record.
    pub struct DeleteTxn<'a> {
        /// Node path.
        pub path: UString<'a>,
    }
    /// Parses a [`DeleteTxn`].
    fn parse_delete_txn;
}

record! {
    /// setData / reconfig record.
    pub struct SetDataTxn<'a> {
        /// Node path (`/zookeeper/config` for reconfig).
        pub path: UString<'a>,
        /// New data (the new config text for reconfig).
        #[cfg_attr(feature = "serde", serde(rename = "data_len", serialize_with = "crate::ser::buf_len"))]
        pub data: Buffer<'a>,
        /// The node's *new* version (-1 for reconfig).
        pub version: i32,
    }
    /// Parses a [`SetDataTxn`].
    fn parse_set_data_txn;
}

record! {
    /// setACL record.
    pub struct SetAclTxn<'a> {
        /// Node path.
        pub path: UString<'a>,
        /// New ACL.
        pub acl: JuteVec<'a, Acl<'a>>,
        /// The node's new aversion.
        pub version: i32,
    }
    /// Parses a [`SetAclTxn`].
    fn parse_set_acl_txn;
}

record! {
    /// check record (normally inside multi).
    pub struct CheckVersionTxn<'a> {
        /// Node path.
        pub path: UString<'a>,
        /// Checked version plus one.
        pub version: i32,
    }
    /// Parses a [`CheckVersionTxn`].
    fn parse_check_version_txn;
}

record! {
    /// error record: the write failed validation but still consumed a zxid.
    pub struct ErrorTxn {
        /// Error code (see `zk_proto::error_name`).
        pub err: i32,
    }
    /// Parses an [`ErrorTxn`].
    fn parse_error_txn;
}

/// One element of a `MultiTxn` (`Txn` in `zookeeper.jute`): a type and the serialized
/// sub-record (no header, no digest). Decode it with [`MultiTxnOp::record`].
///
/// Written by hand rather than with `record!` because its `Serialize` impl decodes the
/// sub-record instead of printing the raw buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultiTxnOp<'a> {
    /// Sub-transaction type.
    pub txn_type: i32,
    /// The serialized sub-record.
    pub data: Buffer<'a>,
}

/// Parses a [`MultiTxnOp`] without decoding its sub-record.
pub fn parse_multi_txn_op(i: &[u8]) -> IResult<&[u8], MultiTxnOp<'_>> {
    let (i, txn_type) = parse_int(i)?;
    let (i, data) = parse_buffer(i)?;
    Ok((i, MultiTxnOp { txn_type, data }))
}

impl<'a> JuteDecode<'a> for MultiTxnOp<'a> {
    fn decode(i: &'a [u8]) -> IResult<&'a [u8], Self> {
        parse_multi_txn_op(i)
    }
}

impl Encode for MultiTxnOp<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        self.txn_type.encode(out);
        self.data.encode(out);
    }
}

impl<'a> MultiTxnOp<'a> {
    /// Decodes the sub-record (which must use every byte of `data`).
    pub fn record(&self) -> Result<TxnRecord<'a>, DecodeError> {
        let data = self.data.ok_or(DecodeError::Invalid {
            what: "null multi sub-txn data",
            offset: 0,
        })?;
        if !is_multi_sub_txn_type(self.txn_type) {
            return Err(DecodeError::UnknownTxnType(self.txn_type));
        }
        complete(data, parse_txn_record(self.txn_type, data))
    }
}

/// multi record: the sub-transactions, all validated at parse time and decoded lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultiTxn<'a> {
    /// The raw sub-transactions.
    pub txns: JuteVec<'a, MultiTxnOp<'a>>,
}

impl<'a> MultiTxn<'a> {
    /// Iterates over `(type, record)` pairs. Every sub-record was checked by
    /// [`parse_multi_txn`], so nothing is skipped for a parsed `MultiTxn`.
    pub fn records(&self) -> impl Iterator<Item = (i32, TxnRecord<'a>)> + 'a {
        self.txns
            .iter()
            .filter_map(|op| op.record().ok().map(|r| (op.txn_type, r)))
    }
}

/// Parses a [`MultiTxn`] and checks that every sub-record decodes completely (so a bad
/// sub-record is reported here, not silently skipped later).
pub fn parse_multi_txn(i: &[u8]) -> IResult<&[u8], MultiTxn<'_>> {
    let (rest, txns) = parse_vector::<MultiTxnOp<'_>>(i)?;
    for op in txns.iter() {
        if op.record().is_err() {
            return fail(i, ErrorKind::Verify);
        }
    }
    Ok((rest, MultiTxn { txns }))
}

impl<'a> JuteDecode<'a> for MultiTxn<'a> {
    fn decode(i: &'a [u8]) -> IResult<&'a [u8], Self> {
        parse_multi_txn(i)
    }
}

impl Encode for MultiTxn<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        self.txns.encode(out);
    }
}

/// A transaction record, one variant per transaction type.
///
/// With the `serde` feature a record serializes as its fields only (the type is written by
/// the enclosing [`TxnEntry`] / multi element).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize), serde(untagged))]
#[non_exhaustive]
pub enum TxnRecord<'a> {
    /// createSession (-10).
    CreateSession(CreateSessionTxn),
    /// closeSession (-11): `None` when no CloseSessionTxn was written (before 3.6, or
    /// `zookeeper.closeSessionTxn.enabled=false`).
    CloseSession(Option<CloseSessionTxn<'a>>),
    /// error (-1).
    Error(ErrorTxn),
    /// create (1).
    Create(CreateTxn<'a>),
    /// delete (2).
    Delete(DeleteTxn<'a>),
    /// setData (5).
    SetData(SetDataTxn<'a>),
    /// setACL (7).
    SetAcl(SetAclTxn<'a>),
    /// check (13).
    Check(CheckVersionTxn<'a>),
    /// multi (14).
    Multi(MultiTxn<'a>),
    /// create2 (15).
    Create2(CreateTxn<'a>),
    /// reconfig (16).
    Reconfig(SetDataTxn<'a>),
    /// createContainer (19).
    CreateContainer(CreateContainerTxn<'a>),
    /// deleteContainer (20).
    DeleteContainer(DeleteTxn<'a>),
    /// createTTL (21).
    CreateTtl(CreateTtlTxn<'a>),
}

impl<'a> TxnRecord<'a> {
    /// The transaction type code of this record.
    pub const fn txn_type(&self) -> i32 {
        use TxnRecord::*;
        match self {
            CreateSession(_) => txn_type::CREATE_SESSION,
            CloseSession(_) => txn_type::CLOSE_SESSION,
            Error(_) => txn_type::ERROR,
            Create(_) => txn_type::CREATE,
            Delete(_) => txn_type::DELETE,
            SetData(_) => txn_type::SET_DATA,
            SetAcl(_) => txn_type::SET_ACL,
            Check(_) => txn_type::CHECK,
            Multi(_) => txn_type::MULTI,
            Create2(_) => txn_type::CREATE2,
            Reconfig(_) => txn_type::RECONFIG,
            CreateContainer(_) => txn_type::CREATE_CONTAINER,
            DeleteContainer(_) => txn_type::DELETE_CONTAINER,
            CreateTtl(_) => txn_type::CREATE_TTL,
        }
    }

    /// ZooKeeper's name for the type (`"create"`, `"setData"`, …).
    pub fn name(&self) -> &'static str {
        txn_type_name(self.txn_type()).unwrap_or("unknown")
    }

    /// The node path, for records that have one (`None` also for a null path on the wire).
    ///
    /// `None` for a multi: its paths are in the sub-operations, one per
    /// [`MultiTxn::records`] item (`record.path()` on each). Also `None` for session and error
    /// records, which name no node.
    pub fn path(&self) -> Option<zkwire_jute::JuteStr<'a>> {
        use TxnRecord::*;
        match self {
            Create(r) | Create2(r) => r.path,
            CreateContainer(r) => r.path,
            CreateTtl(r) => r.path,
            Delete(r) | DeleteContainer(r) => r.path,
            SetData(r) | Reconfig(r) => r.path,
            SetAcl(r) => r.path,
            Check(r) => r.path,
            _ => None,
        }
    }
}

impl Encode for TxnRecord<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        use TxnRecord::*;
        match self {
            CreateSession(r) => r.encode(out),
            CloseSession(r) => {
                if let Some(r) = r {
                    r.encode(out);
                }
            }
            Error(r) => r.encode(out),
            Create(r) | Create2(r) => r.encode(out),
            Delete(r) | DeleteContainer(r) => r.encode(out),
            SetData(r) | Reconfig(r) => r.encode(out),
            SetAcl(r) => r.encode(out),
            Check(r) => r.encode(out),
            Multi(r) => r.encode(out),
            CreateContainer(r) => r.encode(out),
            CreateTtl(r) => r.encode(out),
        }
    }
}

fn map<'a, T>(
    r: IResult<&'a [u8], T>,
    f: impl FnOnce(T) -> TxnRecord<'a>,
) -> IResult<&'a [u8], TxnRecord<'a>> {
    r.map(|(i, v)| (i, f(v)))
}

/// Parses the record of a transaction of type `txn_type` (nom level, no trailing-byte check).
///
/// closeSession is parsed as a `CloseSessionTxn` here; the "no record" forms are only
/// recognisable from the entry length, which [`decode_txn_entry`] handles. Unknown types fail
/// with `ErrorKind::Switch`.
pub fn parse_txn_record(txn_type: i32, i: &[u8]) -> IResult<&[u8], TxnRecord<'_>> {
    use TxnRecord as R;
    match txn_type {
        txn_type::CREATE_SESSION => map(parse_create_session_txn(i), R::CreateSession),
        txn_type::CLOSE_SESSION => map(parse_close_session_txn(i), |r| R::CloseSession(Some(r))),
        txn_type::ERROR => map(parse_error_txn(i), R::Error),
        txn_type::CREATE => map(parse_create_txn(i), R::Create),
        txn_type::DELETE => map(parse_delete_txn(i), R::Delete),
        txn_type::SET_DATA => map(parse_set_data_txn(i), R::SetData),
        txn_type::SET_ACL => map(parse_set_acl_txn(i), R::SetAcl),
        txn_type::CHECK => map(parse_check_version_txn(i), R::Check),
        txn_type::MULTI => map(parse_multi_txn(i), R::Multi),
        txn_type::CREATE2 => map(parse_create_txn(i), R::Create2),
        txn_type::RECONFIG => map(parse_set_data_txn(i), R::Reconfig),
        txn_type::CREATE_CONTAINER => map(parse_create_container_txn(i), R::CreateContainer),
        txn_type::DELETE_CONTAINER => map(parse_delete_txn(i), R::DeleteContainer),
        txn_type::CREATE_TTL => map(parse_create_ttl_txn(i), R::CreateTtl),
        _ => fail(i, ErrorKind::Switch),
    }
}

/// A complete transaction entry: header, record and optional digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnEntry<'a> {
    /// The header; `header.txn_type` always equals `record.txn_type()` after decoding.
    pub header: TxnHeader,
    /// The record.
    pub record: TxnRecord<'a>,
    /// The tree digest, when the leader attached one (3.6+, never on error txns).
    pub digest: Option<TxnDigest>,
}

impl Encode for TxnEntry<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        self.header.encode(out);
        self.record.encode(out);
        if let Some(d) = self.digest {
            d.encode(out);
        }
    }
}

/// Size of an encoded [`TxnDigest`].
pub const TXN_DIGEST_LEN: usize = 12;

/// Decodes a whole txn entry (`data` must be exactly the entry, e.g. a PROPOSAL's data).
///
/// Digest rule (upstream `SerializeUtils.deserializeTxn` reads a `TxnDigest` after the record
/// when bytes remain): after the record, 0 bytes left → no digest, 12 → digest, anything else →
/// [`DecodeError::TrailingBytes`]. closeSession (a `CloseSessionTxn` only when `ZooKeeperServer`
/// runs with `closeSessionTxn.enabled`, 3.6+): 0 bytes after the header → no record; 12 bytes
/// whose first int is 2 → digest only; otherwise a `CloseSessionTxn` followed by the optional
/// digest.
pub fn decode_txn_entry(data: &[u8]) -> Result<TxnEntry<'_>, DecodeError> {
    let (rest, header) = parse_txn_header(data).map_err(|e| from_nom(data, e))?;
    if !is_txn_type(header.txn_type) {
        return Err(DecodeError::UnknownTxnType(header.txn_type));
    }
    let digest_only = rest.len() == TXN_DIGEST_LEN && rest.starts_with(&2i32.to_be_bytes());
    let (rest, record) =
        if header.txn_type == txn_type::CLOSE_SESSION && (rest.is_empty() || digest_only) {
            (rest, TxnRecord::CloseSession(None))
        } else {
            parse_txn_record(header.txn_type, rest).map_err(|e| from_nom(data, e))?
        };
    let digest = match rest.len() {
        0 => None,
        TXN_DIGEST_LEN => Some(complete(rest, parse_txn_digest(rest))?),
        count => return Err(DecodeError::TrailingBytes { count }),
    };
    Ok(TxnEntry {
        header,
        record,
        digest,
    })
}
