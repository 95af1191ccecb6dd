//! The one place that turns values into bytes and back.
//!
//! Every blob the runtime writes (states, inputs, outputs, history payloads) is
//! `[format tag: u8][crc32 of the payload: u32 LE][payload]`. Format tag 1 is bincode 2 with its
//! standard configuration (varint integers) over serde. The checksum turns a flipped bit in a
//! stored state into a typed error instead of a silently different state.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Format tag of bincode 2, standard configuration, serde data model.
pub const FORMAT_BINCODE2: u8 = 1;

const HEADER: usize = 5;

/// Largest blob the decoder accepts, so a corrupt length prefix cannot trigger a huge allocation.
pub const MAX_BLOB: usize = 256 * 1024 * 1024;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_BLOB>()
}

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
    #[error("blob has format tag {tag}, this build reads only tag {FORMAT_BINCODE2}")]
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

/// Encodes `value` into a tagged, checksummed blob.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![FORMAT_BINCODE2, 0, 0, 0, 0];
    bincode::serde::encode_into_std_write(value, &mut out, config()).map_err(|e| {
        CodecError::Encode {
            ty: std::any::type_name::<T>(),
            detail: e.to_string(),
        }
    })?;
    let crc = crc32fast::hash(&out[HEADER..]);
    out[1..HEADER].copy_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Decodes a blob written by [`encode`].
pub fn decode<T: DeserializeOwned>(blob: &[u8]) -> Result<T, CodecError> {
    let ty = std::any::type_name::<T>();
    let payload = payload(blob)?;
    let (value, read) =
        bincode::serde::decode_from_slice::<T, _>(payload, config()).map_err(|e| {
            CodecError::Malformed {
                ty,
                detail: e.to_string(),
            }
        })?;
    if read != payload.len() {
        return Err(CodecError::TrailingBytes {
            ty,
            extra: payload.len() - read,
        });
    }
    Ok(value)
}

/// Checks the header and checksum of a blob and returns its payload.
pub fn payload(blob: &[u8]) -> Result<&[u8], CodecError> {
    let Some((&tag, rest)) = blob.split_first() else {
        return Err(CodecError::Truncated { len: 0 });
    };
    if tag != FORMAT_BINCODE2 {
        return Err(CodecError::UnknownFormat { tag });
    }
    let Some((crc, payload)) = rest.split_first_chunk::<4>() else {
        return Err(CodecError::Truncated { len: blob.len() });
    };
    let stored = u32::from_le_bytes(*crc);
    let computed = crc32fast::hash(payload);
    if stored != computed {
        return Err(CodecError::Checksum { stored, computed });
    }
    Ok(payload)
}

/// Appends the bare bincode encoding of `value` (no header) to `buf`: used for argument lists,
/// which travel inside a tagged, checksummed state blob.
pub fn append_raw<T: Serialize + ?Sized>(buf: &mut Vec<u8>, value: &T) -> Result<(), CodecError> {
    bincode::serde::encode_into_std_write(value, buf, config())
        .map(drop)
        .map_err(|e| CodecError::Encode {
            ty: std::any::type_name::<T>(),
            detail: e.to_string(),
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
        let ty = std::any::type_name::<T>();
        let (value, read) = bincode::serde::decode_from_slice::<T, _>(self.rest, config())
            .map_err(|e| CodecError::Malformed {
                ty,
                detail: e.to_string(),
            })?;
        self.rest = &self.rest[read..];
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
        assert_eq!(blob[0], FORMAT_BINCODE2);
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
        // A huge length prefix: refused by the size limit, not allocated.
        let blob = encode(&u64::MAX).unwrap();
        assert!(matches!(
            decode::<String>(&blob),
            Err(CodecError::Malformed { .. })
        ));
        assert!(matches!(
            decode::<u8>(&[9, 0, 0, 0, 0]),
            Err(CodecError::UnknownFormat { tag: 9 })
        ));
    }
}
