//! [`jute_record!`](crate::jute_record): a Jute record struct whose fields are decoded and
//! encoded in declaration order, with a nom parser, a [`JuteDecode`](crate::jute::JuteDecode)
//! impl (so it can be a vector element or a nested field) and an
//! [`Encode`](crate::jute::Encode) impl — what the Jute compiler generates in Java for every
//! record of `zookeeper.jute`.

/// Defines a Jute record: the struct, `fn $parse(i) -> IResult<_, Self>`, and the
/// `JuteDecode` and `Encode` impls. Fields are decoded in declaration order with their own
/// `JuteDecode` impls. In a crate with a `serde` feature, the struct also derives
/// `serde::Serialize` when that feature is on.
///
/// ```
/// use zkwire_jute::jute::{Encode, JuteStr};
/// zkwire_jute::jute_record! {
///     /// `org.apache.zookeeper.proto.SyncRequest`.
///     pub struct Sync<'a> {
///         /// The path.
///         pub path: Option<JuteStr<'a>>,
///     }
///     /// Parses a [`Sync`].
///     fn parse_sync;
/// }
/// let bytes = Sync { path: Some("/a".into()) }.to_bytes();
/// assert_eq!(parse_sync(&bytes).unwrap().1.path.unwrap(), "/a");
/// ```
#[macro_export]
macro_rules! jute_record {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident<$lt:lifetime> { $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )* }
        $(#[$pmeta:meta])*
        fn $parse:ident;
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        $vis struct $name<$lt> { $( $(#[$fmeta])* pub $field: $ty, )* }

        $(#[$pmeta])*
        $vis fn $parse<$lt>(i: &$lt [u8]) -> $crate::nom::IResult<&$lt [u8], $name<$lt>> {
            $( let (i, $field) = <$ty as $crate::jute::JuteDecode<$lt>>::decode(i)?; )*
            Ok((i, $name { $( $field, )* }))
        }

        impl<$lt> $crate::jute::JuteDecode<$lt> for $name<$lt> {
            fn decode(i: &$lt [u8]) -> $crate::nom::IResult<&$lt [u8], Self> {
                $parse(i)
            }
        }

        impl $crate::jute::Encode for $name<'_> {
            fn encode<O: $crate::jute::Output + ?Sized>(&self, out: &mut O) {
                $( $crate::jute::Encode::encode(&self.$field, out); )*
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident { $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )* }
        $(#[$pmeta:meta])*
        fn $parse:ident;
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        $vis struct $name { $( $(#[$fmeta])* pub $field: $ty, )* }

        $(#[$pmeta])*
        $vis fn $parse(i: &[u8]) -> $crate::nom::IResult<&[u8], $name> {
            $( let (i, $field) = <$ty as $crate::jute::JuteDecode<'_>>::decode(i)?; )*
            Ok((i, $name { $( $field, )* }))
        }

        impl<'a> $crate::jute::JuteDecode<'a> for $name {
            fn decode(i: &'a [u8]) -> $crate::nom::IResult<&'a [u8], Self> {
                $parse(i)
            }
        }

        impl $crate::jute::Encode for $name {
            fn encode<O: $crate::jute::Output + ?Sized>(&self, out: &mut O) {
                $( $crate::jute::Encode::encode(&self.$field, out); )*
            }
        }
    };
}
