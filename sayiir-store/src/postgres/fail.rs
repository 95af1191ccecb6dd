//! Error plumbing: operations fail with either a raw sqlx error or a finished [`StoreError`];
//! raw errors are mapped once, at the boundary, where the server and database are known.

use std::fmt;

use sqlx::error::DatabaseError;
use sqlx::postgres::PgConnectOptions;

use crate::StoreError;

/// The error of an operation.
#[derive(Debug)]
pub(super) enum Fail {
    /// An error from sqlx, mapped by [`Fail::into_store`].
    Sql(sqlx::Error),
    /// An error that is already typed.
    Store(StoreError),
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl Fail {
    /// The typed error.
    pub(super) fn into_store(self, target: &Target) -> StoreError {
        match self {
            Fail::Sql(e) => map_sqlx(e, target),
            Fail::Store(e) => e,
        }
    }
}

/// What a store connects to, for error messages. Never holds the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    /// `host:port`, or the Unix socket directory.
    pub(super) server: String,
    /// The database name.
    pub(super) database: String,
    /// The user name.
    pub(super) user: String,
}

impl Target {
    pub(super) fn new(options: &PgConnectOptions) -> Self {
        let server = match options.get_socket() {
            Some(socket) => socket.display().to_string(),
            None => format!("{}:{}", options.get_host(), options.get_port()),
        };
        let user = options.get_username().to_owned();
        // PostgreSQL's default database is the user's name.
        let database = options.get_database().unwrap_or(&user).to_owned();
        Self {
            server,
            database,
            user,
        }
    }

    /// A connection of the application's own ([`Transactional`](crate::Transactional)), whose
    /// settings the store does not know.
    pub(super) fn caller() -> Self {
        Self {
            server: String::new(),
            database: String::new(),
            user: String::new(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.server.is_empty() {
            return f.write_str("PostgreSQL (the application's connection)");
        }
        write!(
            f,
            "PostgreSQL at {} (database `{}`, user `{}`)",
            self.server, self.database, self.user
        )
    }
}

/// Maps an error of an operation on an established store.
pub(super) fn map_sqlx(e: sqlx::Error, target: &Target) -> StoreError {
    match e {
        sqlx::Error::Database(db) => map_database(db.as_ref(), target),
        sqlx::Error::Io(io) if tls_error(&io).is_some() => tls_failure(&io, target),
        sqlx::Error::Io(io) => StoreError::Unavailable {
            detail: format!("lost contact with {target}: {io}"),
        },
        sqlx::Error::PoolTimedOut => StoreError::Unavailable {
            detail: format!(
                "no connection to {target} became free within the acquire timeout (the pool is \
                 exhausted or the server does not answer)"
            ),
        },
        sqlx::Error::Tls(e) => StoreError::Connect {
            detail: match e.downcast_ref::<rustls::Error>() {
                Some(e) => format!("TLS with {target} failed: {}", tls_detail(e)),
                // What sqlx says when the server answers the TLS request with "no".
                None if e.to_string() == "server does not support TLS" => format!(
                    "{target} does not support TLS, which the URL's `sslmode` (`require`, \
                     `verify-ca` or `verify-full`) demands; turn `ssl` on in the server's \
                     settings"
                ),
                None => format!("TLS with {target} failed: {e}"),
            },
        },
        sqlx::Error::Configuration(e) => StoreError::Connect {
            detail: format!("invalid PostgreSQL connection settings: {e}"),
        },
        other => StoreError::Backend {
            detail: format!("{target}: {other}"),
        },
    }
}

/// Maps an error of establishing the first connection: like [`map_sqlx`], but an I/O error
/// says the server could not be reached and a refused permission is a connection error.
pub(super) fn map_connect(e: sqlx::Error, target: &Target) -> StoreError {
    match e {
        sqlx::Error::Io(io) if tls_error(&io).is_some() => tls_failure(&io, target),
        sqlx::Error::Io(io) => StoreError::Unavailable {
            detail: format!("cannot reach {target}: {io}"),
        },
        sqlx::Error::Database(db) if db.code().as_deref() == Some("42501") => StoreError::Connect {
            detail: format!("{target} refused the connection: {}", db.message()),
        },
        // Something else listens there (it answered the first message with what PostgreSQL
        // never sends).
        sqlx::Error::Protocol(e) => StoreError::Connect {
            detail: format!("{target} does not answer as a PostgreSQL server: {e}"),
        },
        other => map_sqlx(other, target),
    }
}

/// The TLS error inside an I/O error: rustls reports a failed handshake (a certificate that
/// does not verify, a protocol mismatch) to sqlx as an `InvalidData` I/O error carrying it.
fn tls_error(io: &std::io::Error) -> Option<&rustls::Error> {
    io.get_ref()?.downcast_ref::<rustls::Error>()
}

/// A failed TLS handshake: retrying does not help until the settings or the server's
/// certificate change, so it is a connection error, not an unavailable server.
fn tls_failure(io: &std::io::Error, target: &Target) -> StoreError {
    let detail = tls_error(io).map_or_else(|| io.to_string(), tls_detail);
    StoreError::Connect {
        detail: format!("TLS with {target} failed: {detail}"),
    }
}

/// What went wrong in a TLS handshake, in words, with what to do.
fn tls_detail(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    let rustls::Error::InvalidCertificate(cert) = e else {
        return format!("the TLS handshake failed: {e}");
    };
    let why = match cert {
        C::UnknownIssuer | C::BadSignature => {
            "it is not signed by a certificate authority this client trusts; give the \
             certificate of the authority that signed it with `sslrootcert=<file>`"
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "it is not valid for the host name the client connected to (`sslmode=verify-full` \
             checks the name; connect with a name the certificate lists)"
        }
        C::Expired | C::ExpiredContext { .. } => "it has expired",
        C::NotValidYet | C::NotValidYetContext { .. } => "it is not valid yet",
        C::Revoked => "it has been revoked",
        _ => "",
    };
    if why.is_empty() {
        format!("the server's certificate could not be verified ({cert:?})")
    } else {
        format!("the server's certificate could not be verified: {why} ({cert:?})")
    }
}

/// Maps an error reported by the server, by SQLSTATE.
fn map_database(e: &dyn DatabaseError, target: &Target) -> StoreError {
    let code = e.code().map(|c| c.into_owned()).unwrap_or_default();
    let message = e.message();
    let class = code.get(..2).unwrap_or("");
    match (class, code.as_str()) {
        (_, "3D000") => StoreError::DatabaseMissing {
            name: target.database.clone(),
        },
        ("28", _) => StoreError::Connect {
            detail: format!("{target} refused the credentials: {message}"),
        },
        (_, "53100") => StoreError::DiskFull,
        (_, "XX001" | "XX002") => StoreError::Corrupt {
            detail: format!("{message} (SQLSTATE {code})"),
        },
        // Serialization failure and deadlock: the transaction was rolled back, a retry may pass.
        ("40", _)
        // Connection exceptions, insufficient resources (too many connections, memory).
        | ("08" | "53", _)
        // Shutdown, crash recovery, start-up, a cancelled statement, a lock timeout, a read-only
        // standby (during a failover).
        | (_, "57P01" | "57P02" | "57P03" | "57014" | "55P03" | "25006") => {
            StoreError::Unavailable {
                detail: format!("{target}: {message} (SQLSTATE {code})"),
            }
        }
        _ => StoreError::Backend {
            detail: format!("{target}: {message} (SQLSTATE {code})"),
        },
    }
}

/// A value read back from the database that does not decode.
pub(super) fn invalid(id: &str, detail: impl Into<String>) -> Fail {
    Fail::Store(StoreError::InvalidData {
        id: id.to_owned(),
        detail: detail.into(),
    })
}
