//! Who a request comes from: a [`Principal`] with a [`Role`], bound to namespaces.
//!
//! The authentication layer (bearer tokens for the API, a session cookie for the dashboard)
//! finds the principal of every request and puts it in the request's extensions; handlers
//! take it as `axum::Extension<Principal>` and check the role of what they do with
//! [`Principal::require`].

use axum::http::StatusCode;

use crate::error::ApiError;

/// What a token may do. Ordered: each role may do what the roles before it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Role {
    /// Reads: lists, stats, instances, histories, versions, schedules, limits, workers, leases.
    Viewer,
    /// A viewer's reads and the operator's actions: signal, cancel, pause, resume, retry,
    /// fail, and pausing, resuming, deleting or backfilling a schedule.
    Operator,
    /// Everything: an operator's rights and the audit log.
    Admin,
}

impl Role {
    /// The role's name as the configuration and the API spell it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// The role named `name` (`viewer`, `operator`, `admin`).
    pub fn from_name(name: &str) -> Option<Role> {
        match name {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The principal of a request: the token's name, its role, the namespaces it is bound to,
/// the request's CSRF token (what the dashboard's forms send back) and the namespace the
/// request acts in.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Principal {
    /// The token's name (what the audit log records as "who").
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The namespaces it may see; `None`: every namespace.
    pub namespaces: Option<Vec<String>>,
    /// The CSRF token that a form action of this session must carry (empty for a bearer
    /// request, which a browser does not send on its own and so needs none).
    pub csrf: String,
    /// The namespace the request acts in (set by the server for each request: see
    /// `docs/server.md`, "Namespaces"; empty before that).
    pub namespace: String,
}

impl Principal {
    /// Whether the principal's role is at least `role`.
    pub fn may(&self, role: Role) -> bool {
        self.role >= role
    }

    /// `Ok` when the principal's role is at least `role`, else 403 `forbidden`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.may(role) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "the token `{}` is a {}; this needs {}",
                    self.name,
                    self.role.name(),
                    role.name()
                ),
            ))
        }
    }

    /// Whether the principal may see namespace `ns`.
    pub fn sees(&self, ns: &str) -> bool {
        self.namespaces
            .as_ref()
            .is_none_or(|list| list.iter().any(|n| n == ns))
    }
}
