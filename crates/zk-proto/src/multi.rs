//! multi (14) and multiRead (22): the request's `MultiOperationRecord` and the reply's
//! `MultiResponse` (upstream `org.apache.zookeeper.MultiOperationRecord` and `MultiResponse`).
//!
//! Both are a run of `(MultiHeader, body)` pairs closed by a header with `done = true`; there is
//! no count. [`MultiList`] validates the whole run once at parse time and keeps only the borrowed
//! bytes, so iterating re-parses instead of allocating a `Vec` per frame.

use std::fmt;
use std::marker::PhantomData;

use nom::IResult;

use crate::jute::{Encode, JuteDecode};
use crate::records::{
    parse_check_version_request, parse_create2_response, parse_create_request,
    parse_create_response, parse_create_ttl_request, parse_delete_request, parse_error_response,
    parse_get_children_response, parse_get_data_response, parse_multi_header,
    parse_path_watch_request, parse_set_data_request, parse_stat, CheckVersionRequest,
    Create2Response, CreateRequest, CreateResponse, CreateTtlRequest, DeleteRequest, ErrorResponse,
    GetChildrenResponse, GetDataResponse, MultiHeader, PathWatchRequest, SetDataRequest, Stat,
};
use zkwire_jute::error::fail;

impl MultiHeader {
    /// The end marker every Java writer emits: `{type=-1, done=true, err=-1}`.
    pub const DONE: MultiHeader = MultiHeader {
        op_type: -1,
        done: true,
        err: -1,
    };
}

/// One element of a multi run: decoded from its header plus the body the header announces.
pub trait MultiElement<'a>: Sized {
    /// Decodes the body that follows a non-final `header`.
    fn parse_body(header: MultiHeader, i: &'a [u8]) -> IResult<&'a [u8], Self>;
}

/// A validated, borrowed run of multi elements plus its end marker.
pub struct MultiList<'a, E> {
    raw: &'a [u8],
    count: usize,
    end: MultiHeader,
    _e: PhantomData<fn() -> E>,
}

/// Request body of multi/multiRead.
pub type MultiOperationRecord<'a> = MultiList<'a, MultiRequestOp<'a>>;
/// Reply body of multi/multiRead.
pub type MultiResponse<'a> = MultiList<'a, MultiResultEntry<'a>>;

/// Parses a run of `E` up to and including the done marker.
pub fn parse_multi_list<'a, E: MultiElement<'a>>(
    i: &'a [u8],
) -> IResult<&'a [u8], MultiList<'a, E>> {
    let mut rest = i;
    let mut count = 0usize;
    loop {
        let (after_header, header) = parse_multi_header(rest)?;
        if header.done {
            let raw = &i[..i.len() - rest.len()];
            return Ok((
                after_header,
                MultiList {
                    raw,
                    count,
                    end: header,
                    _e: PhantomData,
                },
            ));
        }
        let (after_body, _) = E::parse_body(header, after_header)?;
        rest = after_body;
        count += 1;
    }
}

/// Parses a multi/multiRead request body.
pub fn parse_multi_operation_record(i: &[u8]) -> IResult<&[u8], MultiOperationRecord<'_>> {
    parse_multi_list(i)
}

/// Parses a multi/multiRead reply body.
pub fn parse_multi_response(i: &[u8]) -> IResult<&[u8], MultiResponse<'_>> {
    parse_multi_list(i)
}

impl<'a, E> MultiList<'a, E> {
    /// Number of elements (excluding the done marker).
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The done marker that closed the run (normally [`MultiHeader::DONE`]).
    pub fn end(&self) -> MultiHeader {
        self.end
    }

    /// The element bytes, excluding the done marker.
    pub fn raw_bytes(&self) -> &'a [u8] {
        self.raw
    }
}

impl<'a, E: MultiElement<'a>> MultiList<'a, E> {
    /// Iterates over the elements, decoding each from the borrowed bytes.
    pub fn iter(&self) -> MultiIter<'a, E> {
        MultiIter {
            rest: self.raw,
            remaining: self.count,
            _e: PhantomData,
        }
    }
}

impl<E> Clone for MultiList<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for MultiList<'_, E> {}

impl<E> PartialEq for MultiList<'_, E> {
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count && self.end == other.end && self.raw == other.raw
    }
}

impl<E> Eq for MultiList<'_, E> {}

impl<'a, E: MultiElement<'a> + fmt::Debug> fmt::Debug for MultiList<'a, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiList")
            .field("items", &DebugIter(self))
            .field("end", &self.end)
            .finish()
    }
}

struct DebugIter<'l, 'a, E>(&'l MultiList<'a, E>);

impl<'a, E: MultiElement<'a> + fmt::Debug> fmt::Debug for DebugIter<'_, 'a, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl<'a, E: MultiElement<'a>> IntoIterator for MultiList<'a, E> {
    type Item = E;
    type IntoIter = MultiIter<'a, E>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, E: MultiElement<'a>> IntoIterator for &MultiList<'a, E> {
    type Item = E;
    type IntoIter = MultiIter<'a, E>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, E: MultiElement<'a>> JuteDecode<'a> for MultiList<'a, E> {
    fn decode(i: &'a [u8]) -> IResult<&'a [u8], Self> {
        parse_multi_list(i)
    }
}

impl<E> Encode for MultiList<'_, E> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        out.write_bytes(self.raw);
        self.end.encode(out);
    }
}

/// Writes a multi run from owned elements followed by `end` (normally [`MultiHeader::DONE`]).
pub fn write_multi<E: Encode, O: zkwire_jute::jute::Output + ?Sized>(
    out: &mut O,
    items: &[E],
    end: MultiHeader,
) {
    for item in items {
        item.encode(out);
    }
    end.encode(out);
}

/// Iterator over a [`MultiList`].
pub struct MultiIter<'a, E> {
    rest: &'a [u8],
    remaining: usize,
    _e: PhantomData<fn() -> E>,
}

impl<'a, E: MultiElement<'a>> Iterator for MultiIter<'a, E> {
    type Item = E;
    fn next(&mut self) -> Option<E> {
        if self.remaining == 0 {
            return None;
        }
        let parsed = parse_multi_header(self.rest).and_then(|(r, h)| E::parse_body(h, r));
        match parsed {
            Ok((rest, e)) => {
                self.rest = rest;
                self.remaining -= 1;
                Some(e)
            }
            // Unreachable for validated lists; stop rather than panic.
            Err(_) => {
                self.remaining = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<'a, E: MultiElement<'a>> ExactSizeIterator for MultiIter<'a, E> {}

/// The body of one op inside a multi/multiRead request, by `MultiHeader.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(tag = "op", rename_all = "camelCase")
)]
#[non_exhaustive]
pub enum MultiOp<'a> {
    /// create (1).
    Create(CreateRequest<'a>),
    /// create2 (15).
    Create2(CreateRequest<'a>),
    /// createContainer (19).
    CreateContainer(CreateRequest<'a>),
    /// createTTL (21).
    #[cfg_attr(feature = "serde", serde(rename = "createTTL"))]
    CreateTtl(CreateTtlRequest<'a>),
    /// delete (2).
    Delete(DeleteRequest<'a>),
    /// setData (5).
    SetData(SetDataRequest<'a>),
    /// check (13).
    Check(CheckVersionRequest<'a>),
    /// getData (4), multiRead only.
    GetData(PathWatchRequest<'a>),
    /// getChildren (8), multiRead only.
    GetChildren(PathWatchRequest<'a>),
}

impl Encode for MultiOp<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        match self {
            MultiOp::Create(r) | MultiOp::Create2(r) | MultiOp::CreateContainer(r) => r.encode(out),
            MultiOp::CreateTtl(r) => r.encode(out),
            MultiOp::Delete(r) => r.encode(out),
            MultiOp::SetData(r) => r.encode(out),
            MultiOp::Check(r) => r.encode(out),
            MultiOp::GetData(r) | MultiOp::GetChildren(r) => r.encode(out),
        }
    }
}

/// One op of a multi request: its header and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultiRequestOp<'a> {
    /// The op's header (`err` is always -1 in requests).
    pub header: MultiHeader,
    /// The op body.
    pub op: MultiOp<'a>,
}

impl<'a> MultiElement<'a> for MultiRequestOp<'a> {
    fn parse_body(header: MultiHeader, i: &'a [u8]) -> IResult<&'a [u8], Self> {
        let (i, op) = match header.op_type {
            1 => map(parse_create_request(i), MultiOp::Create)?,
            15 => map(parse_create_request(i), MultiOp::Create2)?,
            19 => map(parse_create_request(i), MultiOp::CreateContainer)?,
            21 => map(parse_create_ttl_request(i), MultiOp::CreateTtl)?,
            2 => map(parse_delete_request(i), MultiOp::Delete)?,
            5 => map(parse_set_data_request(i), MultiOp::SetData)?,
            13 => map(parse_check_version_request(i), MultiOp::Check)?,
            4 => map(parse_path_watch_request(i), MultiOp::GetData)?,
            8 => map(parse_path_watch_request(i), MultiOp::GetChildren)?,
            _ => return fail(i, nom::error::ErrorKind::Switch),
        };
        Ok((i, MultiRequestOp { header, op }))
    }
}

impl Encode for MultiRequestOp<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        self.header.encode(out);
        self.op.encode(out);
    }
}

/// The body of one result inside a multi/multiRead reply, by the *result's* `MultiHeader.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(tag = "op", rename_all = "camelCase")
)]
#[non_exhaustive]
pub enum MultiResult<'a> {
    /// create (1): the created path.
    Create(CreateResponse<'a>),
    /// create2 (15), also used for createTTL/createContainer results.
    Create2(Create2Response<'a>),
    /// delete (2): no body.
    Delete,
    /// setData (5): the new Stat.
    #[cfg_attr(feature = "serde", serde(serialize_with = "crate::ser::stat_field"))]
    SetData(Stat),
    /// check (13): no body.
    Check,
    /// getData (4), multiRead.
    GetData(GetDataResponse<'a>),
    /// getChildren (8), multiRead.
    GetChildren(GetChildrenResponse<'a>),
    /// error (-1): the op's error code (0 for ops before the failing one of a failed multi).
    Error(ErrorResponse),
}

impl Encode for MultiResult<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        match self {
            MultiResult::Create(r) => r.encode(out),
            MultiResult::Create2(r) => r.encode(out),
            MultiResult::Delete | MultiResult::Check => {}
            MultiResult::SetData(r) => r.encode(out),
            MultiResult::GetData(r) => r.encode(out),
            MultiResult::GetChildren(r) => r.encode(out),
            MultiResult::Error(r) => r.encode(out),
        }
    }
}

/// One result of a multi reply: its header and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultiResultEntry<'a> {
    /// The result header (`err` carries the op's error code).
    pub header: MultiHeader,
    /// The result body.
    pub result: MultiResult<'a>,
}

impl<'a> MultiElement<'a> for MultiResultEntry<'a> {
    fn parse_body(header: MultiHeader, i: &'a [u8]) -> IResult<&'a [u8], Self> {
        let (i, result) = match header.op_type {
            1 => map(parse_create_response(i), MultiResult::Create)?,
            15 => map(parse_create2_response(i), MultiResult::Create2)?,
            2 => (i, MultiResult::Delete),
            5 => map(parse_stat(i), MultiResult::SetData)?,
            13 => (i, MultiResult::Check),
            4 => map(parse_get_data_response(i), MultiResult::GetData)?,
            8 => map(parse_get_children_response(i), MultiResult::GetChildren)?,
            -1 => map(parse_error_response(i), MultiResult::Error)?,
            _ => return fail(i, nom::error::ErrorKind::Switch),
        };
        Ok((i, MultiResultEntry { header, result }))
    }
}

impl Encode for MultiResultEntry<'_> {
    fn encode<O: zkwire_jute::jute::Output + ?Sized>(&self, out: &mut O) {
        self.header.encode(out);
        self.result.encode(out);
    }
}

fn map<T, U>(r: IResult<&[u8], T>, f: impl FnOnce(T) -> U) -> IResult<&[u8], U> {
    r.map(|(i, v)| (i, f(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_multi_results() {
        let mut b = Vec::new();
        let items = [0, -103, -2].map(|e| MultiResultEntry {
            header: MultiHeader {
                op_type: -1,
                done: false,
                err: e,
            },
            result: MultiResult::Error(ErrorResponse { err: e }),
        });
        write_multi(&mut b, &items, MultiHeader::DONE);
        let (rest, list) = parse_multi_response(&b).unwrap();
        assert!(rest.is_empty());
        assert_eq!(list.len(), 3);
        assert_eq!(list.iter().collect::<Vec<_>>(), items.to_vec());
        assert_eq!(list.to_bytes(), b);
    }

    #[test]
    fn unknown_op_type_is_invalid() {
        let mut b = Vec::new();
        MultiHeader {
            op_type: 99,
            done: false,
            err: -1,
        }
        .encode(&mut b);
        assert!(matches!(
            parse_multi_operation_record(&b),
            Err(nom::Err::Error(_))
        ));
        // Missing done marker: incomplete, not invalid.
        assert!(matches!(
            parse_multi_operation_record(&[]),
            Err(nom::Err::Incomplete(_))
        ));
    }
}
