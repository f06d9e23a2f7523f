//! zktraffic's text form of a value, as a `serde` serializer: what a [`Line`](super::Line)
//! field holds in text output (`k=v`, with lists as `[a, b]` and records as `{k: v}`).

use super::{text_display, text_str, LineError};
use serde::ser::{self, Serialize};
use std::fmt::Display;
use std::io::Write;

/// zktraffic's text form of a value: bare strings, Python-style `True`/`False`/`None`, numbers
/// as JSON writes them, `[a, b]` lists and `{k: v}` maps.
pub(super) struct Text<'b> {
    pub(super) out: &'b mut Vec<u8>,
    /// Set when the value itself (not a part of it) is null.
    pub(super) null: Option<&'b mut bool>,
}

impl Text<'_> {
    fn raw(self, bytes: &[u8]) -> Result<(), LineError> {
        self.out.extend_from_slice(bytes);
        Ok(())
    }
    fn int(self, v: impl itoa::Integer) -> Result<(), LineError> {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        Ok(())
    }
    fn none(self) -> Result<(), LineError> {
        if let Some(null) = self.null {
            *null = true;
        }
        self.out.extend_from_slice(b"None");
        Ok(())
    }
}

/// A list or map being written as text.
pub(super) struct TextCompound<'b> {
    out: &'b mut Vec<u8>,
    first: bool,
    /// What closes it: `]`, `}`, or `]}`/`}}` for a variant wrapped as `{Variant: …}`.
    close: &'static [u8],
}

impl<'b> TextCompound<'b> {
    fn open(out: &'b mut Vec<u8>, open: &[u8], close: &'static [u8]) -> Self {
        out.extend_from_slice(open);
        TextCompound {
            out,
            first: true,
            close,
        }
    }
    /// A variant's list or record, wrapped as `{Variant: …}`: `open` follows the name, and
    /// `close` ends both.
    fn open_variant(
        out: &'b mut Vec<u8>,
        variant: &str,
        open: &[u8],
        close: &'static [u8],
    ) -> Self {
        out.push(b'{');
        out.extend_from_slice(variant.as_bytes());
        Self::open(out, open, close)
    }
    fn separate(&mut self) {
        if !self.first {
            self.out.extend_from_slice(b", ");
        }
        self.first = false;
    }
    fn item<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), LineError> {
        self.separate();
        v.serialize(Text {
            out: self.out,
            null: None,
        })
    }
    fn entry<T: Serialize + ?Sized>(&mut self, key: &str, v: &T) -> Result<(), LineError> {
        self.separate();
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b": ");
        v.serialize(Text {
            out: self.out,
            null: None,
        })
    }
    fn close(self) -> Result<(), LineError> {
        self.out.extend_from_slice(self.close);
        Ok(())
    }
}

/// The four element-by-element forms (lists, tuples, tuple structs and variants) write alike.
macro_rules! elements {
    ($($trait:ident::$method:ident),*) => {$(
        impl ser::$trait for TextCompound<'_> {
            type Ok = ();
            type Error = LineError;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), LineError> {
                self.item(v)
            }
            fn end(self) -> Result<(), LineError> {
                self.close()
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for TextCompound<'_> {
    type Ok = ();
    type Error = LineError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), LineError> {
        self.separate();
        key.serialize(Text {
            out: self.out,
            null: None,
        })?;
        self.out.extend_from_slice(b": ");
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), LineError> {
        v.serialize(Text {
            out: self.out,
            null: None,
        })
    }
    fn end(self) -> Result<(), LineError> {
        self.close()
    }
}

/// Records and record variants write their named fields alike.
macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for TextCompound<'_> {
            type Ok = ();
            type Error = LineError;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                v: &T,
            ) -> Result<(), LineError> {
                self.entry(key, v)
            }
            fn end(self) -> Result<(), LineError> {
                self.close()
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

/// Every integer is written as its decimal digits.
macro_rules! integers {
    ($($method:ident($ty:ty)),*) => {
        $(fn $method(self, v: $ty) -> Result<(), LineError> { self.int(v) })*
    };
}

impl<'b> ser::Serializer for Text<'b> {
    type Ok = ();
    type Error = LineError;
    type SerializeSeq = TextCompound<'b>;
    type SerializeTuple = TextCompound<'b>;
    type SerializeTupleStruct = TextCompound<'b>;
    type SerializeTupleVariant = TextCompound<'b>;
    type SerializeMap = TextCompound<'b>;
    type SerializeStruct = TextCompound<'b>;
    type SerializeStructVariant = TextCompound<'b>;

    fn serialize_bool(self, v: bool) -> Result<(), LineError> {
        self.raw(if v { b"True" } else { b"False" })
    }
    integers!(
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64)
    );
    fn serialize_f32(self, v: f32) -> Result<(), LineError> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), LineError> {
        // As serde_json writes a number; it has no form for NaN or infinities (null).
        match serde_json::Number::from_f64(v) {
            Some(n) => {
                let _ = write!(self.out, "{n}");
                Ok(())
            }
            None => self.none(),
        }
    }
    fn serialize_char(self, v: char) -> Result<(), LineError> {
        self.raw(v.encode_utf8(&mut [0; 4]).as_bytes())
    }
    fn serialize_str(self, v: &str) -> Result<(), LineError> {
        text_str(self.out, v);
        Ok(())
    }
    /// Written in place: serde's default builds a `String` first.
    fn collect_str<T: Display + ?Sized>(self, v: &T) -> Result<(), LineError> {
        text_display(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), LineError> {
        let mut list = TextCompound::open(self.out, b"[", b"]");
        for b in v {
            list.item(b)?;
        }
        list.close()
    }
    fn serialize_none(self) -> Result<(), LineError> {
        self.none()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), LineError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), LineError> {
        self.none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), LineError> {
        self.none()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), LineError> {
        self.raw(variant.as_bytes())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<(), LineError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), LineError> {
        let mut map = TextCompound::open(self.out, b"{", b"}");
        map.entry(variant, v)?;
        map.close()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<TextCompound<'b>, LineError> {
        Ok(TextCompound::open(self.out, b"[", b"]"))
    }
    fn serialize_tuple(self, _: usize) -> Result<TextCompound<'b>, LineError> {
        Ok(TextCompound::open(self.out, b"[", b"]"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<TextCompound<'b>, LineError> {
        Ok(TextCompound::open(self.out, b"[", b"]"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<TextCompound<'b>, LineError> {
        Ok(TextCompound::open_variant(self.out, variant, b": [", b"]}"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<TextCompound<'b>, LineError> {
        Ok(TextCompound::open(self.out, b"{", b"}"))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<TextCompound<'b>, LineError> {
        Ok(TextCompound::open(self.out, b"{", b"}"))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<TextCompound<'b>, LineError> {
        Ok(TextCompound::open_variant(self.out, variant, b": {", b"}}"))
    }
}
