//! Canonical, versioned byte encodings that definition and signature hashes are computed over.
//!
//! Types are encoded token by token (identifiers, punctuation characters, literals, groups), so
//! spacing, line breaks and comments never reach a hash.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;

/// A canonical encoding under construction.
pub(crate) struct Canon {
    buf: Vec<u8>,
}

const TAG_STR: u8 = 1;
const TAG_U32: u8 = 2;
const TAG_IDENT: u8 = 3;
const TAG_PUNCT: u8 = 4;
const TAG_LIT: u8 = 5;
const TAG_GROUP: u8 = 6;
const TAG_END: u8 = 7;
const TAG_NODE: u8 = 8;

impl Canon {
    /// Starts an encoding of the given domain and format version.
    pub(crate) fn new(domain: &str, version: u32) -> Self {
        let mut c = Self {
            buf: Vec::with_capacity(256),
        };
        c.str(domain);
        c.u32(version);
        c
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.push(TAG_U32);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.buf.push(TAG_STR);
        self.len(s.len());
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// A structural marker (node kind) of the lowered IR.
    pub(crate) fn node(&mut self, kind: &str) {
        self.buf.push(TAG_NODE);
        self.str(kind);
    }

    /// Ends a list or node whose length is not known up front.
    pub(crate) fn end(&mut self) {
        self.buf.push(TAG_END);
    }

    /// A type or path, as written, token by token.
    pub(crate) fn tokens(&mut self, t: &impl ToTokens) {
        self.stream(t.to_token_stream());
        self.end();
    }

    fn stream(&mut self, ts: TokenStream) {
        for tt in ts {
            match tt {
                TokenTree::Ident(i) => {
                    self.buf.push(TAG_IDENT);
                    self.str(&i.to_string());
                }
                TokenTree::Punct(p) => {
                    self.buf.push(TAG_PUNCT);
                    self.buf
                        .extend_from_slice(&u32::from(p.as_char()).to_le_bytes());
                }
                TokenTree::Literal(l) => {
                    self.buf.push(TAG_LIT);
                    self.str(&l.to_string());
                }
                TokenTree::Group(g) => {
                    self.buf.push(TAG_GROUP);
                    self.buf.push(match g.delimiter() {
                        Delimiter::Parenthesis => b'(',
                        Delimiter::Brace => b'{',
                        Delimiter::Bracket => b'[',
                        Delimiter::None => b'_',
                    });
                    self.stream(g.stream());
                    self.end();
                }
            }
        }
    }

    fn len(&mut self, n: usize) {
        self.buf
            .extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn ty_bytes(t: syn::Type) -> Vec<u8> {
        let mut c = Canon::new("t", 1);
        c.tokens(&t);
        c.into_bytes()
    }

    #[test]
    fn formatting_does_not_matter() {
        let a: syn::Type = parse_quote!(Vec<Vec<u8>>);
        let b: syn::Type = syn::parse_str("Vec < Vec<u8> >").unwrap();
        let c: syn::Type = syn::parse_str("Vec<\n  Vec<u8> /* bytes */ >").unwrap();
        assert_eq!(ty_bytes(a.clone()), ty_bytes(b));
        assert_eq!(ty_bytes(a), ty_bytes(c));
    }

    #[test]
    fn different_types_differ() {
        assert_ne!(
            ty_bytes(parse_quote!(Vec<u8>)),
            ty_bytes(parse_quote!(Vec<u16>))
        );
        assert_ne!(
            ty_bytes(parse_quote!((A, B))),
            ty_bytes(parse_quote!((A, (B))))
        );
        assert_ne!(
            ty_bytes(parse_quote!([u8; 4])),
            ty_bytes(parse_quote!([u8; 5]))
        );
    }
}
