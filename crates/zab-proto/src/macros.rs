//! The `record!` macro: a Jute record struct whose fields are decoded and encoded in
//! declaration order, with a nom parser, a `JuteDecode` impl (so it can be a vector element)
//! and an `Encode` impl. Same idea as zk-proto's private macro, which is not exported.

macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident<$lt:lifetime> { $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )* }
        $(#[$pmeta:meta])*
        fn $parse:ident;
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        pub struct $name<$lt> { $( $(#[$fmeta])* pub $field: $ty, )* }

        $(#[$pmeta])*
        pub fn $parse<$lt>(i: &$lt [u8]) -> nom::IResult<&$lt [u8], $name<$lt>> {
            $( let (i, $field) = <$ty as zk_proto::jute::JuteDecode<$lt>>::decode(i)?; )*
            Ok((i, $name { $( $field, )* }))
        }

        impl<$lt> zk_proto::jute::JuteDecode<$lt> for $name<$lt> {
            fn decode(i: &$lt [u8]) -> nom::IResult<&$lt [u8], Self> {
                $parse(i)
            }
        }

        impl zk_proto::jute::Encode for $name<'_> {
            fn encode(&self, out: &mut Vec<u8>) {
                $( zk_proto::jute::Encode::encode(&self.$field, out); )*
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub struct $name:ident { $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )* }
        $(#[$pmeta:meta])*
        fn $parse:ident;
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        pub struct $name { $( $(#[$fmeta])* pub $field: $ty, )* }

        $(#[$pmeta])*
        pub fn $parse(i: &[u8]) -> nom::IResult<&[u8], $name> {
            $( let (i, $field) = <$ty as zk_proto::jute::JuteDecode<'_>>::decode(i)?; )*
            Ok((i, $name { $( $field, )* }))
        }

        impl<'a> zk_proto::jute::JuteDecode<'a> for $name {
            fn decode(i: &'a [u8]) -> nom::IResult<&'a [u8], Self> {
                $parse(i)
            }
        }

        impl zk_proto::jute::Encode for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                $( zk_proto::jute::Encode::encode(&self.$field, out); )*
            }
        }
    };
}

pub(crate) use record;
