//! What can go wrong in a client command, how it is printed on stderr, and its exit status:
//! 1 for a refused request (4xx) or a usage problem clap cannot see (unknown or ambiguous name,
//! unreadable file), 3 when the server cannot be reached or fails (connection, timeout, 5xx).

use std::fmt;

#[derive(Debug)]
pub enum ClientError {
    /// The server answered with an error status.
    Api(ApiFailure),
    /// No answer: connection refused, DNS, TLS, timeout, a stream cut short.
    Unreachable(String),
    /// The server answered something the client cannot read (not the API's JSON).
    BadAnswer(String),
    /// A problem with what the user asked for.
    Usage(String),
    /// Standard output could not be written.
    Output(std::io::Error),
}

/// The error body of spec §5.1, as far as the client needs it.
#[derive(Debug)]
pub struct ApiFailure {
    pub status: u16,
    pub code: Option<String>,
    pub reason: String,
    pub details: Vec<(String, String)>,
}

impl ClientError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Api(failure) if failure.status < 500 => 1,
            ClientError::Usage(_) | ClientError::Output(_) => 1,
            ClientError::Api(_) | ClientError::Unreachable(_) | ClientError::BadAnswer(_) => 3,
        }
    }

    /// A closed pipe (`hyperfleet … | head`) ends the command quietly, as for other CLI tools.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, ClientError::Output(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

impl From<std::io::Error> for ClientError {
    fn from(error: std::io::Error) -> Self {
        ClientError::Output(error)
    }
}

impl fmt::Display for ClientError {
    /// One line per problem, each prefixed like the server's own command-line errors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Api(failure) => {
                write!(f, "hyperfleet: error: {} (HTTP {}", failure.reason, failure.status)?;
                if let Some(code) = &failure.code {
                    write!(f, ", {code}")?;
                }
                f.write_str(")")?;
                for (field, error) in &failure.details {
                    write!(f, "\n  {field}: {error}")?;
                }
                Ok(())
            }
            ClientError::Unreachable(message) | ClientError::BadAnswer(message) | ClientError::Usage(message) => {
                write!(f, "hyperfleet: error: {message}")
            }
            ClientError::Output(error) => write!(f, "hyperfleet: error: cannot write the output: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, details: Vec<(String, String)>) -> ClientError {
        ClientError::Api(ApiFailure { status, code: Some(format!("hyperfleet-{}", 8)), reason: "r".into(), details })
    }

    #[test]
    fn client_errors_exit_1_and_server_or_connection_errors_exit_3() {
        assert_eq!(api(404, vec![]).exit_code(), 1);
        assert_eq!(api(400, vec![]).exit_code(), 1);
        assert_eq!(api(503, vec![]).exit_code(), 3);
        assert_eq!(api(500, vec![]).exit_code(), 3);
        assert_eq!(ClientError::Unreachable("x".into()).exit_code(), 3);
        assert_eq!(ClientError::BadAnswer("x".into()).exit_code(), 3);
        assert_eq!(ClientError::Usage("x".into()).exit_code(), 1);
    }

    #[test]
    fn api_errors_print_reason_status_code_and_each_detail() {
        let error = api(400, vec![("name".into(), "name is required".into()), ("spec".into(), "spec!".into())]);
        assert_eq!(
            error.to_string(),
            "hyperfleet: error: r (HTTP 400, hyperfleet-8)\n  name: name is required\n  spec: spec!"
        );
    }
}
