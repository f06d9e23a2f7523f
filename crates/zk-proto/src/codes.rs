//! Numeric constants of the client protocol and their names: opcodes, error codes, watch event
//! types and keeper states, create modes, ACL permission bits, watcher types and addWatch modes.
//!
//! Names follow ZooKeeper's own spelling (`getData`, `NONODE`, `NodeCreated`, …) so output can be
//! grepped against server logs; message names (`GetDataRequest`, `CloseReply`) follow zktraffic.

macro_rules! opcodes {
    ($( $(#[$m:meta])* $variant:ident = $val:literal, $name:literal, $req:literal, $rep:literal, $write:literal; )*) => {
        /// Every opcode of ZooKeeper 3.0 – 3.10 (`org.apache.zookeeper.ZooDefs.OpCode`), and
        /// [`OpCode::Unknown`] for any other wire value, so a decoded value never loses what
        /// the wire said.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum OpCode {
            $( $(#[$m])* $variant, )*
            /// A value no ZooKeeper version assigns.
            Unknown(i32),
        }

        impl OpCode {
            /// Every known opcode, in numeric table order.
            pub const ALL: &'static [OpCode] = &[$(OpCode::$variant,)*];

            /// The opcode for a wire value ([`OpCode::Unknown`] when unassigned).
            pub const fn from_i32(v: i32) -> OpCode {
                match v {
                    $( $val => OpCode::$variant, )*
                    _ => OpCode::Unknown(v),
                }
            }

            /// The wire value.
            pub const fn as_i32(self) -> i32 {
                match self { $( OpCode::$variant => $val, )* OpCode::Unknown(v) => v }
            }

            /// Whether the value is one ZooKeeper assigns.
            pub const fn is_known(self) -> bool {
                !matches!(self, OpCode::Unknown(_))
            }

            /// ZooKeeper's name for the opcode (`ZooDefs.OpCode` field name, e.g. `getData`;
            /// `unknown` for an unassigned value).
            pub const fn name(self) -> &'static str {
                match self { $( OpCode::$variant => $name, )* OpCode::Unknown(_) => "unknown" }
            }

            /// zktraffic-style request message name, e.g. `GetDataRequest`, `CloseRequest`
            /// (`UnknownRequest` for an unassigned value).
            pub const fn request_name(self) -> &'static str {
                match self { $( OpCode::$variant => $req, )* OpCode::Unknown(_) => "UnknownRequest" }
            }

            /// zktraffic-style reply message name, e.g. `GetDataReply`, `CloseReply`
            /// (`UnknownReply` for an unassigned value).
            pub const fn reply_name(self) -> &'static str {
                match self { $( OpCode::$variant => $rep, )* OpCode::Unknown(_) => "UnknownReply" }
            }

            /// Whether the operation becomes a quorum transaction (forwarded to the leader, gets
            /// a zxid: upstream `Request.isQuorum`); never for an unassigned value.
            pub const fn is_write(self) -> bool {
                match self { $( OpCode::$variant => $write, )* OpCode::Unknown(_) => false }
            }
        }
    };
}

impl From<i32> for OpCode {
    fn from(v: i32) -> OpCode {
        OpCode::from_i32(v)
    }
}

impl From<OpCode> for i32 {
    fn from(op: OpCode) -> i32 {
        op.as_i32()
    }
}

opcodes! {
    /// Watch notification (never sent as a request; notifications use xid -1).
    Notification = 0, "notification", "NotificationRequest", "WatchEvent", false;
    /// create.
    Create = 1, "create", "CreateRequest", "CreateReply", true;
    /// delete.
    Delete = 2, "delete", "DeleteRequest", "DeleteReply", true;
    /// exists.
    Exists = 3, "exists", "ExistsRequest", "ExistsReply", false;
    /// getData.
    GetData = 4, "getData", "GetDataRequest", "GetDataReply", false;
    /// setData.
    SetData = 5, "setData", "SetDataRequest", "SetDataReply", true;
    /// getACL.
    GetAcl = 6, "getACL", "GetAclRequest", "GetAclReply", false;
    /// setACL.
    SetAcl = 7, "setACL", "SetAclRequest", "SetAclReply", true;
    /// getChildren.
    GetChildren = 8, "getChildren", "GetChildrenRequest", "GetChildrenReply", false;
    /// sync.
    Sync = 9, "sync", "SyncRequest", "SyncReply", false;
    /// ping (xid -2).
    Ping = 11, "ping", "PingRequest", "PingReply", false;
    /// getChildren2 (children plus Stat).
    GetChildren2 = 12, "getChildren2", "GetChildren2Request", "GetChildren2Reply", false;
    /// check (version check, meaningful inside multi).
    Check = 13, "check", "CheckVersionRequest", "CheckVersionReply", true;
    /// multi (transaction).
    Multi = 14, "multi", "MultiRequest", "MultiReply", true;
    /// create2 (create returning Stat).
    Create2 = 15, "create2", "Create2Request", "Create2Reply", true;
    /// reconfig.
    Reconfig = 16, "reconfig", "ReconfigRequest", "ReconfigReply", true;
    /// checkWatches.
    CheckWatches = 17, "checkWatches", "CheckWatchesRequest", "CheckWatchesReply", false;
    /// removeWatches.
    RemoveWatches = 18, "removeWatches", "RemoveWatchesRequest", "RemoveWatchesReply", false;
    /// createContainer.
    CreateContainer = 19, "createContainer", "CreateContainerRequest", "CreateContainerReply", true;
    /// deleteContainer (server-internal).
    DeleteContainer = 20, "deleteContainer", "DeleteContainerRequest", "DeleteContainerReply", true;
    /// createTTL.
    CreateTtl = 21, "createTTL", "CreateTTLRequest", "CreateTTLReply", true;
    /// multiRead.
    MultiRead = 22, "multiRead", "MultiReadRequest", "MultiReadReply", false;
    /// auth (xid -4).
    Auth = 100, "auth", "SetAuthRequest", "SetAuthReply", false;
    /// setWatches.
    SetWatches = 101, "setWatches", "SetWatchesRequest", "SetWatchesReply", false;
    /// sasl.
    Sasl = 102, "sasl", "SaslRequest", "SaslReply", false;
    /// getEphemerals.
    GetEphemerals = 103, "getEphemerals", "GetEphemeralsRequest", "GetEphemeralsReply", false;
    /// getAllChildrenNumber.
    GetAllChildrenNumber = 104, "getAllChildrenNumber", "GetAllChildrenNumberRequest", "GetAllChildrenNumberReply", false;
    /// setWatches2 (with persistent watches).
    SetWatches2 = 105, "setWatches2", "SetWatches2Request", "SetWatches2Reply", false;
    /// addWatch (persistent watches).
    AddWatch = 106, "addWatch", "AddWatchRequest", "AddWatchReply", false;
    /// whoAmI.
    WhoAmI = 107, "whoAmI", "WhoAmIRequest", "WhoAmIReply", false;
    /// createSession (quorum-side only; the ConnectRequest plays this role on the client port).
    CreateSession = -10, "createSession", "ConnectRequest", "ConnectReply", true;
    /// closeSession.
    CloseSession = -11, "closeSession", "CloseRequest", "CloseReply", true;
    /// error (txn type and multi result type only).
    Error = -1, "error", "ErrorRequest", "ErrorReply", false;
}

impl std::fmt::Display for OpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpCode::Unknown(v) => write!(f, "unknown({v})"),
            known => f.write_str(known.name()),
        }
    }
}

/// ZooKeeper's name for an error code (`KeeperException.Code`), e.g. `-101` → `"NONODE"`.
/// Unassigned codes return `None`.
pub const fn error_name(code: i32) -> Option<&'static str> {
    Some(match code {
        0 => "OK",
        -1 => "SYSTEMERROR",
        -2 => "RUNTIMEINCONSISTENCY",
        -3 => "DATAINCONSISTENCY",
        -4 => "CONNECTIONLOSS",
        -5 => "MARSHALLINGERROR",
        -6 => "UNIMPLEMENTED",
        -7 => "OPERATIONTIMEOUT",
        -8 => "BADARGUMENTS",
        -12 => "UNKNOWNSESSION",
        -13 => "NEWCONFIGNOQUORUM",
        -14 => "RECONFIGINPROGRESS",
        -100 => "APIERROR",
        -101 => "NONODE",
        -102 => "NOAUTH",
        -103 => "BADVERSION",
        -108 => "NOCHILDRENFOREPHEMERALS",
        -110 => "NODEEXISTS",
        -111 => "NOTEMPTY",
        -112 => "SESSIONEXPIRED",
        -113 => "INVALIDCALLBACK",
        -114 => "INVALIDACL",
        -115 => "AUTHFAILED",
        -118 => "SESSIONMOVED",
        -119 => "NOTREADONLY",
        -120 => "EPHEMERALONLOCALSESSION",
        -121 => "NOWATCHER",
        -122 => "REQUESTTIMEOUT",
        -123 => "RECONFIGDISABLED",
        -124 => "SESSIONCLOSEDREQUIRESASLAUTH",
        -125 => "QUOTAEXCEEDED",
        -127 => "THROTTLEDOP",
        _ => return None,
    })
}

/// Name of a watch event type (`Watcher.Event.EventType`), e.g. `3` → `"NodeDataChanged"`.
pub const fn event_type_name(v: i32) -> Option<&'static str> {
    Some(match v {
        -1 => "None",
        1 => "NodeCreated",
        2 => "NodeDeleted",
        3 => "NodeDataChanged",
        4 => "NodeChildrenChanged",
        5 => "DataWatchRemoved",
        6 => "ChildWatchRemoved",
        7 => "PersistentWatchRemoved",
        _ => return None,
    })
}

/// Name of a keeper state (`Watcher.Event.KeeperState`), e.g. `3` → `"SyncConnected"`.
pub const fn keeper_state_name(v: i32) -> Option<&'static str> {
    Some(match v {
        -1 => "Unknown",
        0 => "Disconnected",
        1 => "NoSyncConnected",
        3 => "SyncConnected",
        4 => "AuthFailed",
        5 => "ConnectedReadOnly",
        6 => "SaslAuthenticated",
        -112 => "Expired",
        7 => "Closed",
        _ => return None,
    })
}

/// `CreateMode` name for create flags, e.g. `3` → `"EPHEMERAL_SEQUENTIAL"`.
pub const fn create_mode_name(flags: i32) -> Option<&'static str> {
    Some(match flags {
        0 => "PERSISTENT",
        1 => "EPHEMERAL",
        2 => "PERSISTENT_SEQUENTIAL",
        3 => "EPHEMERAL_SEQUENTIAL",
        4 => "CONTAINER",
        5 => "PERSISTENT_WITH_TTL",
        6 => "PERSISTENT_SEQUENTIAL_WITH_TTL",
        _ => return None,
    })
}

/// Watcher type of checkWatches/removeWatches, e.g. `2` → `"Data"`.
pub const fn watcher_type_name(v: i32) -> Option<&'static str> {
    Some(match v {
        1 => "Children",
        2 => "Data",
        3 => "Any",
        4 => "Persistent",
        5 => "PersistentRecursive",
        _ => return None,
    })
}

/// addWatch mode name, e.g. `1` → `"PERSISTENT_RECURSIVE"`.
pub const fn add_watch_mode_name(v: i32) -> Option<&'static str> {
    Some(match v {
        0 => "PERSISTENT",
        1 => "PERSISTENT_RECURSIVE",
        _ => return None,
    })
}

/// ACL permission bits (`ZooDefs.Perms`).
pub mod perms {
    /// Read data and list children.
    pub const READ: i32 = 0x01;
    /// Set data.
    pub const WRITE: i32 = 0x02;
    /// Create children.
    pub const CREATE: i32 = 0x04;
    /// Delete children.
    pub const DELETE: i32 = 0x08;
    /// Set ACLs.
    pub const ADMIN: i32 = 0x10;
    /// All of the above.
    pub const ALL: i32 = 0x1f;

    /// Writes the permission letters in ZooKeeper CLI order (`cdrwa`), e.g. `0x1f` → `"cdrwa"`.
    /// Unknown high bits are ignored.
    pub fn letters(perms: i32) -> String {
        let mut s = String::with_capacity(5);
        for (bit, c) in [
            (CREATE, 'c'),
            (DELETE, 'd'),
            (READ, 'r'),
            (WRITE, 'w'),
            (ADMIN, 'a'),
        ] {
            if perms & bit != 0 {
                s.push(c);
            }
        }
        s
    }
}

/// Special xids (the `*_XID` constants of `org.apache.zookeeper.ClientCnxn`).
pub mod xid {
    /// Watch notification (server → client).
    pub const NOTIFICATION: i32 = -1;
    /// Ping and ping reply.
    pub const PING: i32 = -2;
    /// Auth packet and its reply.
    pub const AUTH: i32 = -4;
    /// setWatches from the C client and Java ≤ 3.4.3.
    pub const SET_WATCHES: i32 = -8;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcode_round_trip() {
        for op in OpCode::ALL {
            assert_eq!(OpCode::from_i32(op.as_i32()), *op);
            assert!(op.is_known());
        }
        assert_eq!(OpCode::ALL.len(), 33);
        assert_eq!(OpCode::from_i32(10), OpCode::Unknown(10));
        assert_eq!(OpCode::Unknown(10).as_i32(), 10);
        assert_eq!(OpCode::from_i32(10).to_string(), "unknown(10)");
        assert_eq!(OpCode::GetData.name(), "getData");
        assert_eq!(OpCode::CloseSession.request_name(), "CloseRequest");
        assert_eq!(OpCode::Auth.request_name(), "SetAuthRequest");
        assert!(OpCode::Create.is_write() && !OpCode::Exists.is_write());
    }

    #[test]
    fn names() {
        assert_eq!(error_name(-101), Some("NONODE"));
        assert_eq!(error_name(-126), None);
        assert_eq!(event_type_name(4), Some("NodeChildrenChanged"));
        assert_eq!(keeper_state_name(-112), Some("Expired"));
        assert_eq!(create_mode_name(6), Some("PERSISTENT_SEQUENTIAL_WITH_TTL"));
        assert_eq!(perms::letters(perms::ALL), "cdrwa");
    }
}
