//! One error type for the library. Every variant that wraps another library's error keeps it
//! as its `source` (match on the variant, or walk `source()`), and its message says what was
//! being done and where, as users read it.
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A malformed line of a manifest or scores file (1-based line number).
    #[error("{path}:{line}: {msg}")]
    Line {
        path: PathBuf,
        line: usize,
        msg: String,
    },
    #[error("{path}: cannot decode image: {source}")]
    Image {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
    #[error(transparent)]
    Torch(#[from] tch::TchError),
    /// JSON that could not be read or written; `what` names the file or the value.
    #[error("{what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {source}")]
    Toml {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("{what}: {source}")]
    Safetensors {
        what: String,
        #[source]
        source: safetensors::SafeTensorError,
    },
    /// An operating-system resource (a thread, a runtime, a socket) that could not be had.
    #[error("{what}: {source}")]
    System {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    ThreadPool {
        what: String,
        #[source]
        source: rayon::ThreadPoolBuildError,
    },
    /// Another crossdf error, with what was being done when it happened.
    #[error("{what}: {source}")]
    Context {
        what: String,
        #[source]
        source: Box<Error>,
    },
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
    pub fn json(what: impl std::fmt::Display, source: serde_json::Error) -> Self {
        Error::Json {
            what: what.to_string(),
            source,
        }
    }
    pub fn safetensors(what: impl std::fmt::Display, source: safetensors::SafeTensorError) -> Self {
        Error::Safetensors {
            what: what.to_string(),
            source,
        }
    }
    pub fn system(what: impl std::fmt::Display, source: std::io::Error) -> Self {
        Error::System {
            what: what.to_string(),
            source,
        }
    }
    pub fn thread_pool(what: impl std::fmt::Display, source: rayon::ThreadPoolBuildError) -> Self {
        Error::ThreadPool {
            what: what.to_string(),
            source,
        }
    }
    /// This error, as the cause of failing at `what`.
    pub fn context(self, what: impl std::fmt::Display) -> Self {
        Error::Context {
            what: what.to_string(),
            source: Box::new(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn wrapped_errors_keep_their_cause_and_the_users_message() {
        let bad = serde_json::from_str::<u8>("x").unwrap_err();
        let e = Error::json("m.json", bad);
        assert!(e.to_string().starts_with("m.json: expected value"), "{e}");
        assert!(e.source().unwrap().is::<serde_json::Error>());
        let e = Error::invalid("no face").context("photo.png: face detection");
        assert_eq!(e.to_string(), "photo.png: face detection: no face");
        assert!(
            matches!(e, Error::Context { ref source, .. } if matches!(**source, Error::Invalid(_)))
        );
    }
}
