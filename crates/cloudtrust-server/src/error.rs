//! The internal error type. HTTP handlers map it onto the two client-facing error shapes
//! (`OAuthError` and `ApiError`) in one place each; detail of internal failures is logged, never
//! returned.

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in the domain and storage layers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller supplied something malformed; the message names the field and the rule.
    #[error("{field}: {message}")]
    Invalid {
        /// The offending field or argument.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The named entity does not exist (or is not visible to the caller).
    #[error("{entity} {id} not found")]
    NotFound {
        /// Entity kind, e.g. `customer`.
        entity: &'static str,
        /// The id that was looked up.
        id: String,
    },
    /// The change would collide with existing state (duplicate id, stale version).
    #[error("{0}")]
    Conflict(String),
    /// The caller's copy is out of date (`If-Match` names an older `eTag`).
    #[error("{0}")]
    Stale(String),
    /// The acting administrator may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A database failure.
    #[error("database: {0}")]
    Database(sqlx::Error),
    /// A migration failure.
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// Anything else that is the server's fault (key material, I/O, configuration).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            message: message.into(),
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(entity: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound {
            entity,
            id: id.into(),
        }
    }

    /// Shorthand for [`Error::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal(message.into())
    }
}

impl From<sqlx::Error> for Error {
    /// A value the database refuses is the client's bad input, not an outage: PostgreSQL
    /// refuses NUL characters in text (SQLSTATE 22021), where SQLite stores them.
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.code().as_deref() == Some("22021") => {
                Error::invalid("request", "has characters that are not allowed")
            }
            _ => {
                crate::metrics::database_error(&e);
                Error::Database(e)
            }
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Internal(format!("i/o: {e}"))
    }
}
