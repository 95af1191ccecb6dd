//! The configured bearer tokens: each a name, a role, the namespaces it is bound to and the
//! SHA-256 of the token. Only the hashes are kept, in memory and in the configuration file.
//!
//! A token is 32 random bytes (`sy_` and 43 characters of base64url, [`Tokens::generate`]):
//! with that much entropy a fast hash is the right one (a slow password hash defends
//! guessable secrets, and there is nothing to guess here); the hashes are compared in
//! constant time.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::{Principal, Role};

/// The prefix of the tokens [`Tokens::generate`] makes.
pub const TOKEN_PREFIX: &str = "sy_";

/// One configured token, without the token itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenEntry {
    /// Its name: what the audit log records as "who". Unique.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The namespaces it may see; `None`: every namespace.
    pub namespaces: Option<Vec<String>>,
    /// The SHA-256 of the token.
    pub sha256: [u8; 32],
}

/// The configured tokens (see the module's documentation).
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    entries: Vec<TokenEntry>,
}

/// A token configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The file cannot be read.
    #[error("cannot read the token file `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The text is not a JSON array of token entries.
    #[error(
        "the token configuration is not a JSON array of {{\"name\", \"role\", \"namespaces\", \"sha256\"}} objects: {detail}"
    )]
    Json {
        /// What the JSON parser said.
        detail: String,
    },
    /// An entry names a role that does not exist.
    #[error("token `{name}`: unknown role `{role}` (viewer, operator, admin)")]
    UnknownRole {
        /// The entry's name.
        name: String,
        /// The role given.
        role: String,
    },
    /// An entry's hash is not 64 hexadecimal digits.
    #[error("token `{name}`: `sha256` must be 64 hexadecimal digits (the SHA-256 of the token)")]
    BadHash {
        /// The entry's name.
        name: String,
    },
    /// Two entries have the same name.
    #[error(
        "token `{name}` is configured twice (names must be unique: the audit log records them)"
    )]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// Two entries have the same hash (the same token).
    #[error("tokens `{first}` and `{second}` are the same token")]
    DuplicateToken {
        /// The first entry's name.
        first: String,
        /// The second's.
        second: String,
    },
    /// An entry's name is empty.
    #[error("a token has an empty name")]
    EmptyName,
}

/// An entry as the configuration file spells it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    name: String,
    role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespaces: Option<Vec<String>>,
    sha256: String,
}

impl Tokens {
    /// No tokens (every request is refused).
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no token is configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The configured entries.
    pub fn entries(&self) -> &[TokenEntry] {
        &self.entries
    }

    /// Adds the token `token` (hashed here; only the hash is kept) named `name`.
    pub fn with_token(
        self,
        name: &str,
        role: Role,
        namespaces: Option<Vec<String>>,
        token: &str,
    ) -> Result<Self, TokenError> {
        self.with_entry(TokenEntry {
            name: name.to_owned(),
            role,
            namespaces,
            sha256: hash(token),
        })
    }

    /// Adds `entry`; an error if its name or hash is already configured.
    pub fn with_entry(mut self, entry: TokenEntry) -> Result<Self, TokenError> {
        if entry.name.is_empty() {
            return Err(TokenError::EmptyName);
        }
        for e in &self.entries {
            if e.name == entry.name {
                return Err(TokenError::DuplicateName { name: entry.name });
            }
            if bool::from(e.sha256.ct_eq(&entry.sha256)) {
                return Err(TokenError::DuplicateToken {
                    first: e.name.clone(),
                    second: entry.name,
                });
            }
        }
        self.entries.push(entry);
        Ok(self)
    }

    /// The tokens of a JSON configuration:
    /// `[{"name": "alice", "role": "operator", "namespaces": ["default"], "sha256": "<hex>"}]`
    /// (`namespaces` absent: every namespace).
    pub fn from_json(text: &str) -> Result<Self, TokenError> {
        let raw: Vec<FileEntry> = serde_json::from_str(text).map_err(|e| TokenError::Json {
            detail: e.to_string(),
        })?;
        let mut seen = HashSet::new();
        let mut tokens = Self::new();
        for e in raw {
            if !seen.insert(e.name.clone()) {
                return Err(TokenError::DuplicateName { name: e.name });
            }
            let role = Role::from_name(&e.role).ok_or_else(|| TokenError::UnknownRole {
                name: e.name.clone(),
                role: e.role.clone(),
            })?;
            let sha256 = parse_hex(&e.sha256).ok_or_else(|| TokenError::BadHash {
                name: e.name.clone(),
            })?;
            tokens = tokens.with_entry(TokenEntry {
                name: e.name,
                role,
                namespaces: e.namespaces,
                sha256,
            })?;
        }
        Ok(tokens)
    }

    /// The tokens of the JSON file at `path` ([`Tokens::from_json`]).
    pub fn load(path: &Path) -> Result<Self, TokenError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// The principal of `token`, if it is configured. Every entry is compared, in constant
    /// time, whichever matches.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        let h = hash(token);
        let mut found = None;
        for e in &self.entries {
            if bool::from(e.sha256.ct_eq(&h)) {
                found = Some(e);
            }
        }
        found.map(|e| Principal {
            name: e.name.clone(),
            role: e.role,
            namespaces: e.namespaces.clone(),
            csrf: String::new(),
            namespace: String::new(),
        })
    }

    /// A new random token: [`TOKEN_PREFIX`] and 32 random bytes in base64url (43 characters).
    pub fn generate() -> Result<String, getrandom::Error> {
        Ok(format!("{TOKEN_PREFIX}{}", random_base64(32)?))
    }

    /// The configuration file's entry of `token` (as `sayiir token new` prints it).
    pub fn entry_json(
        name: &str,
        role: Role,
        namespaces: Option<Vec<String>>,
        token: &str,
    ) -> serde_json::Value {
        serde_json::json!(FileEntry {
            name: name.to_owned(),
            role: role.name().to_owned(),
            namespaces,
            sha256: to_hex(&hash(token)),
        })
    }
}

/// The SHA-256 of `token`.
pub(crate) fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// `bytes` in lowercase hexadecimal.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

fn parse_hex(text: &str) -> Option<[u8; 32]> {
    let text = text.as_bytes();
    if text.len() != 64 {
        return None;
    }
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let mut out = [0u8; 32];
    for (i, pair) in text.chunks(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// `n` random bytes from the operating system, in base64url without padding.
pub(crate) fn random_base64(n: usize) -> Result<String, getrandom::Error> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_authenticate_through_their_entry() {
        let token = Tokens::generate().unwrap();
        assert!(token.starts_with(TOKEN_PREFIX));
        assert_eq!(token.len(), TOKEN_PREFIX.len() + 43);
        let entry = Tokens::entry_json(
            "alice",
            Role::Operator,
            Some(vec!["default".into()]),
            &token,
        );
        let tokens = Tokens::from_json(&format!("[{entry}]")).unwrap();
        let p = tokens.authenticate(&token).unwrap();
        assert_eq!((p.name.as_str(), p.role), ("alice", Role::Operator));
        assert_eq!(p.namespaces, Some(vec!["default".to_owned()]));
        assert!(tokens.authenticate("sy_other").is_none());
        assert_ne!(Tokens::generate().unwrap(), token);
    }

    #[test]
    fn bad_configurations_name_the_entry() {
        let good = to_hex(&hash("x"));
        let cases = [
            ("{}".to_owned(), "not a JSON array"),
            (
                format!(r#"[{{"name":"a","role":"root","sha256":"{good}"}}]"#),
                "token `a`: unknown role `root`",
            ),
            (
                r#"[{"name":"b","role":"viewer","sha256":"12zz"}]"#.to_owned(),
                "token `b`: `sha256` must be 64",
            ),
            (
                format!(
                    r#"[{{"name":"c","role":"viewer","sha256":"{good}"}},{{"name":"c","role":"admin","sha256":"{}"}}]"#,
                    to_hex(&hash("y"))
                ),
                "token `c` is configured twice",
            ),
            (
                format!(
                    r#"[{{"name":"d","role":"viewer","sha256":"{good}"}},{{"name":"e","role":"admin","sha256":"{good}"}}]"#
                ),
                "tokens `d` and `e` are the same token",
            ),
            (
                format!(r#"[{{"name":"f","role":"viewer","sha256":"{good}","extra":1}}]"#),
                "unknown field `extra`",
            ),
            (
                format!(r#"[{{"name":"","role":"viewer","sha256":"{good}"}}]"#),
                "empty name",
            ),
        ];
        for (text, expected) in cases {
            let e = Tokens::from_json(&text).unwrap_err().to_string();
            assert!(e.contains(expected), "{text}: {e}");
        }
        let e = Tokens::load(Path::new("/nonexistent/tokens.json")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/tokens.json"), "{e}");
    }
}
