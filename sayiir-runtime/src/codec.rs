//! The one place that turns values into bytes and back.
//!
//! Every blob the runtime writes (states, inputs, outputs, history payloads) is
//! `[format tag: u8][crc32 of the payload: u32 LE][payload]`. Format tag 2 is postcard 1.x over
//! serde; tag 1 was bincode 2, written by earlier sayiir builds, and is refused with a typed
//! error rather than read as something else. The checksum turns a flipped bit in a stored state
//! into a typed error instead of a silently different state. `docs/format.md` writes the layout
//! down as a promise; the golden tests (`codec_golden.rs`) pin its bytes.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Format tag of postcard 1.x over the serde data model: the format this build writes and reads.
pub const FORMAT_POSTCARD: u8 = 2;

/// Format tag of bincode 2 (standard configuration), written by earlier sayiir builds; refused.
const RETIRED_BINCODE2: u8 = 1;

const HEADER: usize = 5;

/// Largest payload the codec writes or reads (256 MiB). A corrupt length prefix cannot cause a
/// huge allocation (postcard takes a string only when all its bytes are present, and hints a
/// sequence's length to serde only when that many bytes are left); this bound keeps a blob
/// within what every store can hold and read back.
pub const MAX_BLOB: usize = 256 * 1024 * 1024;

/// Why a value could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The blob is shorter than its header.
    #[error("blob is truncated: {len} bytes, the header alone is {HEADER}")]
    Truncated {
        /// Length found.
        len: usize,
    },
    /// The format tag is not one this build reads.
    #[error("{}", unknown_format(*tag))]
    UnknownFormat {
        /// Tag found.
        tag: u8,
    },
    /// The checksum does not match the payload.
    #[error(
        "blob checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): the data is corrupt"
    )]
    Checksum {
        /// Stored checksum.
        stored: u32,
        /// Checksum of the payload as read.
        computed: u32,
    },
    /// The payload is larger than [`MAX_BLOB`].
    #[error("blob payload is {len} bytes, more than the limit of {MAX_BLOB} bytes")]
    TooLarge {
        /// Payload length.
        len: usize,
    },
    /// The payload does not decode as the expected type.
    #[error("blob does not decode as `{ty}`: {detail}")]
    Malformed {
        /// Expected type.
        ty: &'static str,
        /// Decoder message.
        detail: String,
    },
    /// The payload decoded but bytes were left over.
    #[error("blob decodes as `{ty}` with {extra} bytes left over")]
    TrailingBytes {
        /// Expected type.
        ty: &'static str,
        /// Bytes left.
        extra: usize,
    },
    /// The value could not be serialized.
    #[error("value of type `{ty}` cannot be encoded: {detail}")]
    Encode {
        /// Type.
        ty: &'static str,
        /// Encoder message.
        detail: String,
    },
}

fn unknown_format(tag: u8) -> String {
    if tag == RETIRED_BINCODE2 {
        format!(
            "blob has format tag {RETIRED_BINCODE2}: the bincode 2 format of earlier sayiir \
             builds, which this build does not read (it reads tag {FORMAT_POSTCARD}, postcard \
             1.x); drain instances written by an earlier build with that build"
        )
    } else {
        format!(
            "blob has format tag {tag}, which this build does not know (it reads tag \
             {FORMAT_POSTCARD}, postcard 1.x): the blob was written by a newer sayiir build or \
             is not a sayiir blob"
        )
    }
}

/// Encodes `value` into a tagged, checksummed blob.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![FORMAT_POSTCARD, 0, 0, 0, 0];
    append_raw(&mut out, value)?;
    let len = out.len() - HEADER;
    if len > MAX_BLOB {
        return Err(CodecError::TooLarge { len });
    }
    let crc = crc32fast::hash(&out[HEADER..]);
    out[1..HEADER].copy_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Decodes a blob written by [`encode`].
pub fn decode<T: DeserializeOwned>(blob: &[u8]) -> Result<T, CodecError> {
    let (value, rest) = take::<T>(payload(blob)?)?;
    if !rest.is_empty() {
        return Err(CodecError::TrailingBytes {
            ty: std::any::type_name::<T>(),
            extra: rest.len(),
        });
    }
    Ok(value)
}

/// Checks the header and checksum of a blob and returns its payload.
pub fn payload(blob: &[u8]) -> Result<&[u8], CodecError> {
    let Some((&tag, rest)) = blob.split_first() else {
        return Err(CodecError::Truncated { len: 0 });
    };
    if tag != FORMAT_POSTCARD {
        return Err(CodecError::UnknownFormat { tag });
    }
    let Some((crc, payload)) = rest.split_first_chunk::<4>() else {
        return Err(CodecError::Truncated { len: blob.len() });
    };
    if payload.len() > MAX_BLOB {
        return Err(CodecError::TooLarge { len: payload.len() });
    }
    let stored = u32::from_le_bytes(*crc);
    let computed = crc32fast::hash(payload);
    if stored != computed {
        return Err(CodecError::Checksum { stored, computed });
    }
    Ok(payload)
}

/// Lets postcard append to a borrowed buffer (its `to_extend` takes the writer by value).
struct Append<'a>(&'a mut Vec<u8>);

impl Extend<u8> for Append<'_> {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, bytes: I) {
        self.0.extend(bytes);
    }
}

/// Appends the bare postcard encoding of `value` (no header) to `buf`: used for argument lists,
/// which travel inside a tagged, checksummed state blob. On error `buf` is left as it was.
pub fn append_raw<T: Serialize + ?Sized>(buf: &mut Vec<u8>, value: &T) -> Result<(), CodecError> {
    let start = buf.len();
    match postcard::to_extend(value, Append(buf)) {
        Ok(_) => Ok(()),
        Err(e) => {
            buf.truncate(start);
            Err(CodecError::Encode {
                ty: std::any::type_name::<T>(),
                detail: detail(&e),
            })
        }
    }
}

/// postcard's message, except for errors raised by a serde impl: postcard drops their text
/// (`Error::custom` keeps no message), so say where they came from instead.
pub(crate) fn detail(e: &postcard::Error) -> String {
    match e {
        postcard::Error::SerdeSerCustom => "its `Serialize` impl returned an error".into(),
        postcard::Error::SerdeDeCustom => {
            "its `Deserialize` impl rejected the data (a value of another type or shape)".into()
        }
        other => other.to_string(),
    }
}

/// Decodes one value from the front of `bytes`, returning it and the bytes after it.
pub(crate) fn take<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, &[u8]), CodecError> {
    postcard::take_from_bytes::<T>(bytes).map_err(|e| CodecError::Malformed {
        ty: std::any::type_name::<T>(),
        detail: detail(&e),
    })
}

/// Reads values written one after another by [`append_raw`].
#[derive(Debug)]
pub struct RawReader<'a> {
    rest: &'a [u8],
}

impl<'a> RawReader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Decodes the next value.
    pub fn read<T: DeserializeOwned>(&mut self) -> Result<T, CodecError> {
        let (value, rest) = take::<T>(self.rest)?;
        self.rest = rest;
        Ok(value)
    }

    /// Checks that every byte was consumed.
    pub fn finish(self) -> Result<(), CodecError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(CodecError::TrailingBytes {
                ty: "argument list",
                extra: self.rest.len(),
            })
        }
    }
}

/// Values encoded one after another, as the elements of a tuple: what generated code hands the
/// values it stores to (through `__private::ser_field`, the one place its serde bounds are
/// checked, so a type that cannot be stored is reported once).
#[derive(Debug, Default)]
pub struct FieldWriter {
    buf: Vec<u8>,
    /// Where each value ends, when the values are wanted apart (`into_parts`).
    ends: Option<Vec<usize>>,
}

impl FieldWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer appending to `buf` (what it holds is kept).
    pub fn over(buf: Vec<u8>) -> Self {
        Self { buf, ends: None }
    }

    /// A writer whose values are wanted apart ([`FieldWriter::into_parts`]).
    pub fn parts() -> Self {
        Self {
            buf: Vec::new(),
            ends: Some(Vec::new()),
        }
    }

    /// A writer whose one value becomes a blob ([`FieldWriter::into_blob`]): room for the
    /// header comes first, so the blob is not copied.
    pub fn blob() -> Self {
        Self::over(vec![FORMAT_POSTCARD, 0, 0, 0, 0])
    }

    /// Everything written, back to back (after what the buffer held).
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// The blob of what a [`FieldWriter::blob`] writer holds.
    pub fn into_blob(self) -> Result<Vec<u8>, CodecError> {
        let mut out = self.buf;
        let len = out.len().saturating_sub(HEADER);
        if len > MAX_BLOB {
            return Err(CodecError::TooLarge { len });
        }
        let crc = crc32fast::hash(out.get(HEADER..).unwrap_or_default());
        if let Some(header) = out.get_mut(1..HEADER) {
            header.copy_from_slice(&crc.to_le_bytes());
        }
        Ok(out)
    }

    /// Each value written, on its own (for a [`FieldWriter::parts`] writer; empty otherwise).
    pub fn into_parts(self) -> Vec<Vec<u8>> {
        let mut start = 0;
        self.ends
            .unwrap_or_default()
            .iter()
            .map(|&end| {
                let part = self.buf[start..end].to_vec();
                start = end;
                part
            })
            .collect()
    }
}

impl serde::ser::SerializeTuple for FieldWriter {
    type Ok = ();
    type Error = CodecError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        append_raw(&mut self.buf, value)?;
        if let Some(ends) = &mut self.ends {
            ends.push(self.buf.len());
        }
        Ok(())
    }

    fn end(self) -> Result<(), CodecError> {
        Ok(())
    }
}

/// Reads values written one after another (by [`append_raw`] or a [`FieldWriter`]), as the
/// elements of a tuple: what generated code decodes stored values from (through
/// `__private::de_field`).
#[derive(Debug)]
pub struct FieldReader<'a> {
    rest: &'a [u8],
}

impl<'a> FieldReader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Checks that every byte was consumed.
    pub fn finish(self, what: &'static str) -> Result<(), CodecError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(CodecError::TrailingBytes {
                ty: what,
                extra: self.rest.len(),
            })
        }
    }
}

impl<'a> serde::de::SeqAccess<'a> for FieldReader<'a> {
    type Error = CodecError;

    fn next_element_seed<S: serde::de::DeserializeSeed<'a>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, CodecError> {
        let malformed = |e: postcard::Error| CodecError::Malformed {
            ty: std::any::type_name::<S::Value>(),
            detail: detail(&e),
        };
        let mut de = postcard::Deserializer::from_bytes(self.rest);
        let value = seed.deserialize(&mut de).map_err(malformed)?;
        self.rest = de.finalize().map_err(malformed)?;
        Ok(Some(value))
    }
}

impl serde::ser::Error for CodecError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        CodecError::Encode {
            ty: "value",
            detail: msg.to_string(),
        }
    }
}

impl serde::de::Error for CodecError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        CodecError::Malformed {
            ty: "value",
            detail: msg.to_string(),
        }
    }
}

#[cfg(test)]
#[path = "codec_golden.rs"]
mod golden;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    struct S {
        a: u32,
        b: String,
        c: Vec<Option<i64>>,
    }

    fn sample() -> S {
        S {
            a: 7,
            b: "héllo".into(),
            c: vec![Some(-1), None, Some(1 << 40)],
        }
    }

    #[test]
    fn roundtrip() {
        let blob = encode(&sample()).unwrap();
        assert_eq!(blob[0], FORMAT_POSTCARD);
        assert_eq!(decode::<S>(&blob).unwrap(), sample());
    }

    #[test]
    fn every_truncation_is_an_error() {
        let blob = encode(&sample()).unwrap();
        for len in 0..blob.len() {
            assert!(
                decode::<S>(&blob[..len]).is_err(),
                "prefix of {len} bytes decoded"
            );
        }
    }

    #[test]
    fn every_bit_flip_is_an_error() {
        let blob = encode(&sample()).unwrap();
        for i in 0..blob.len() * 8 {
            let mut b = blob.clone();
            b[i / 8] ^= 1 << (i % 8);
            assert!(decode::<S>(&b).is_err(), "flip of bit {i} decoded");
        }
    }

    #[test]
    fn wrong_type_and_trailing_bytes() {
        let blob = encode(&(1u8, 2u8)).unwrap();
        assert!(matches!(
            decode::<u8>(&blob),
            Err(CodecError::TrailingBytes { extra: 1, .. })
        ));
        assert!(matches!(
            decode::<u8>(&[9, 0, 0, 0, 0]),
            Err(CodecError::UnknownFormat { tag: 9 })
        ));
        let mut reader = RawReader::new(&[1, 2]);
        assert_eq!(reader.read::<u8>().unwrap(), 1);
        assert!(matches!(
            reader.finish(),
            Err(CodecError::TrailingBytes { extra: 1, .. })
        ));
    }

    /// A length prefix far beyond the payload (here up to `u64::MAX`) is checked against the
    /// bytes present: an error, never an attempt to allocate that much (which would abort).
    #[test]
    fn a_huge_length_prefix_is_refused_without_allocating() {
        use std::collections::{BTreeMap, HashMap};
        for len in [u64::MAX, 1 << 40, 1 << 31] {
            let blob = encode(&len).unwrap();
            assert!(matches!(
                decode::<String>(&blob),
                Err(CodecError::Malformed { .. })
            ));
            assert!(decode::<Vec<u8>>(&blob).is_err());
            assert!(decode::<Vec<u64>>(&blob).is_err());
            assert!(decode::<Vec<String>>(&blob).is_err());
            assert!(decode::<HashMap<u64, u64>>(&blob).is_err());
            assert!(decode::<BTreeMap<String, Vec<u8>>>(&blob).is_err());
            assert!(RawReader::new(&blob[HEADER..]).read::<Vec<u8>>().is_err());
        }
    }

    #[test]
    fn a_bincode_era_blob_is_refused_with_a_clear_error() {
        // Tag 1 with a valid checksum of a valid bincode payload: still refused by its tag.
        let bincode_payload = [7u8];
        let mut blob = vec![1];
        blob.extend_from_slice(&crc32fast::hash(&bincode_payload).to_le_bytes());
        blob.extend_from_slice(&bincode_payload);
        let err = decode::<u8>(&blob).unwrap_err();
        assert_eq!(err, CodecError::UnknownFormat { tag: 1 });
        let message = err.to_string();
        assert!(message.contains("format tag 1"), "{message}");
        assert!(message.contains("bincode"), "{message}");
        assert!(message.contains("earlier sayiir builds"), "{message}");
        assert!(message.contains("does not read"), "{message}");
        assert_eq!(payload(&blob), Err(CodecError::UnknownFormat { tag: 1 }));

        let other = decode::<u8>(&[200, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(other, CodecError::UnknownFormat { tag: 200 });
        let message = other.to_string();
        assert!(message.contains("format tag 200"), "{message}");
        assert!(message.contains("does not know"), "{message}");
        assert!(!message.contains("bincode"), "{message}");
    }

    #[test]
    fn a_payload_over_the_limit_is_refused_before_its_checksum() {
        // Zeroed pages are not touched: only the header is written and read.
        let mut blob = vec![0u8; HEADER + MAX_BLOB + 1];
        blob[0] = FORMAT_POSTCARD;
        assert_eq!(
            payload(&blob),
            Err(CodecError::TooLarge { len: MAX_BLOB + 1 })
        );
    }

    #[test]
    fn a_failed_append_leaves_the_buffer_as_it_was() {
        struct Unencodable;
        impl Serialize for Unencodable {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("no"))
            }
        }
        let mut buf = vec![1, 2];
        append_raw(&mut buf, &(7u8, 8u8)).unwrap();
        let err = append_raw(&mut buf, &(9u8, Unencodable)).unwrap_err();
        assert!(matches!(err, CodecError::Encode { .. }), "{err:?}");
        assert!(err.to_string().contains("`Serialize` impl"), "{err}");
        assert_eq!(buf, [1, 2, 7, 8]);
    }

    #[test]
    fn an_error_of_a_serde_impl_says_where_it_came_from() {
        // `Result` has two variants: index 9 is refused by its `Deserialize` impl.
        let err = decode::<Result<u8, u8>>(&encode(&9u32).unwrap()).unwrap_err();
        assert!(matches!(err, CodecError::Malformed { .. }), "{err:?}");
        assert!(err.to_string().contains("`Deserialize` impl"), "{err}");
    }
}
