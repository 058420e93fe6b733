//! The client library's errors: typed, so a caller can tell a hub's refusal from a
//! broken register or bad input without reading text. The command line (`cli/`)
//! turns them into `anyhow` at the edge.
//!
//! The API mirrors what the library used before (`bail!`, `ensure!`, `.context(…)`), so
//! a message in English and Japanese is still written where the error arises; what it
//! is (input, register, hub, network, file) is now a variant.

use std::fmt;

use renkei_schema::errors::Code;
use serde_json::Value;

/// What went wrong.
#[derive(Debug)]
pub enum Error {
    /// Bad input or a state the command cannot act on; the message says what, in
    /// English and Japanese.
    Invalid(String),
    /// The hub refused the request (its code and message).
    Refused(Refused),
    /// The local register (SQLite) failed.
    Register(diesel::result::Error),
    /// The hub could not be reached, or answered with something that is not HTTP.
    Network(reqwest::Error),
    /// A file could not be read or written.
    Io(std::io::Error),
    /// JSON that did not parse as expected.
    Json(serde_json::Error),
    /// Anything else from a library the client uses.
    Other(Box<dyn std::error::Error + Send + Sync>),
    /// An error with what was being done when it happened.
    Context { context: String, source: Box<Error> },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps any other error.
    pub fn other(e: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Other(Box::new(e))
    }

    /// The error under every context.
    pub fn root(&self) -> &Error {
        match self {
            Error::Context { source, .. } => source.root(),
            e => e,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(m) => f.write_str(m),
            Error::Refused(r) => write!(f, "{r}"),
            Error::Register(e) => write!(f, "the register: {e}"),
            Error::Network(e) => write!(f, "{e}"),
            Error::Io(e) => write!(f, "{e}"),
            Error::Json(e) => write!(f, "{e}"),
            Error::Other(e) => write!(f, "{e}"),
            // Like anyhow's alternate form: the context, then what caused it.
            Error::Context { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Register(e) => Some(e),
            Error::Network(e) => Some(e),
            Error::Io(e) => Some(e),
            Error::Json(e) => Some(e),
            Error::Other(e) => Some(e.as_ref()),
            Error::Context { source, .. } => Some(source.as_ref()),
            Error::Invalid(_) | Error::Refused(_) => None,
        }
    }
}

macro_rules! from {
    ($($t:ty => $v:ident),* $(,)?) => {
        $(impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::$v(e)
            }
        })*
    };
}
from!(Refused => Refused, diesel::result::Error => Register, reqwest::Error => Network, std::io::Error => Io, serde_json::Error => Json);

macro_rules! other {
    ($($t:ty),* $(,)?) => {
        $(impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::other(e)
            }
        })*
    };
}
other!(
    diesel::ConnectionError,
    chrono::ParseError,
    std::num::ParseIntError,
    std::num::ParseFloatError,
    std::str::Utf8Error,
    std::string::FromUtf8Error,
    rustls::Error,
    renkei_schema::sign::SignError,
);

impl From<Box<dyn std::error::Error + Send + Sync>> for Error {
    fn from(e: Box<dyn std::error::Error + Send + Sync>) -> Self {
        Error::Other(e)
    }
}

/// `.context(…)` and `.with_context(|| …)` on results and options, as in `anyhow`.
pub trait Context<T> {
    fn context<C: fmt::Display>(self, context: C) -> Result<T>;
    fn with_context<C: fmt::Display, F: FnOnce() -> C>(self, f: F) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context<C: fmt::Display>(self, context: C) -> Result<T> {
        self.map_err(|e| Error::Context { context: context.to_string(), source: Box::new(e.into()) })
    }

    fn with_context<C: fmt::Display, F: FnOnce() -> C>(self, f: F) -> Result<T> {
        self.map_err(|e| Error::Context { context: f().to_string(), source: Box::new(e.into()) })
    }
}

impl<T> Context<T> for Option<T> {
    fn context<C: fmt::Display>(self, context: C) -> Result<T> {
        self.ok_or_else(|| Error::Invalid(context.to_string()))
    }

    fn with_context<C: fmt::Display, F: FnOnce() -> C>(self, f: F) -> Result<T> {
        self.ok_or_else(|| Error::Invalid(f().to_string()))
    }
}

/// Returns early with [`Error::Invalid`] and a formatted message.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::error::Error::Invalid(format!($($arg)*)))
    };
}

/// Returns early with [`Error::Invalid`] unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            $crate::bail!($($arg)*);
        }
    };
}

/// The hub refused a request: its code (`renkei_schema::errors`, the catalogue the hub
/// answers from) and its message in both languages. Callers may downcast to it (a
/// retryable `UNAVAILABLE`, a `FORBIDDEN` token) rather than read the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The code as sent; `None` when the answer carried none.
    pub code: Option<String>,
    pub message: String,
    pub message_ja: Option<String>,
}

impl Refused {
    pub(crate) fn from_error(error: &Value) -> Refused {
        Refused {
            code: error["extensions"]["code"].as_str().map(str::to_string),
            message: error["message"].as_str().unwrap_or("no message").to_string(),
            message_ja: error["extensions"]["messageJa"].as_str().map(str::to_string),
        }
    }

    /// The code, if it is one of the catalogue's.
    pub fn known_code(&self) -> Option<Code> {
        self.code.as_deref().and_then(Code::parse)
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the hub refused: {} ({})", self.message, self.code.as_deref().unwrap_or("no code"))?;
        match (&self.message_ja, self.known_code()) {
            (Some(ja), _) => write!(f, " / ハブが拒否しました: {ja}"),
            (None, Some(code)) => write!(f, " / ハブが拒否しました: {}", code.meaning_ja()),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for Refused {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_kind_under_context_and_print_the_chain() {
        let refused: Result<()> =
            Err(Refused { code: Some("FORBIDDEN".into()), message: "no".into(), message_ja: None }.into());
        let e = refused.context("sharing").expect_err("refused");
        assert!(matches!(e.root(), Error::Refused(r) if r.code.as_deref() == Some("FORBIDDEN")));
        assert!(e.to_string().starts_with("sharing: the hub refused: no (FORBIDDEN)"), "{e}");
        let missing: Option<u8> = None;
        assert!(
            matches!(missing.context("no hub yet / ハブが未設定です"), Err(Error::Invalid(m)) if m.contains("ハブ"))
        );
        fn refuses() -> Result<()> {
            bail!("bad {} / 不正", 1);
        }
        assert_eq!(refuses().expect_err("bail").to_string(), "bad 1 / 不正");
    }
}
