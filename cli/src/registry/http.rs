//! HTTP helpers the registry client and its token flow share: the message
//! of an error chain, and bounded body reads. Their own module so that
//! `oci` and `auth` depend on it rather than on each other.

/// The innermost message of an error chain: "Connection refused (os error
/// 111)" rather than reqwest's "error sending request for url (...)".
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error;
    while let Some(cause) = innermost.source() {
        innermost = cause;
    }
    innermost.to_string()
}

/// Why [`read_capped`] stopped.
#[derive(Debug)]
pub(crate) enum CappedReadError {
    /// More than the limit arrived (or was announced).
    TooLarge,
    Transport(reqwest::Error),
}

/// Reads at most `limit` bytes of a body, chunk by chunk, so a server
/// cannot make devc hold more than that in memory.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, CappedReadError> {
    if response.content_length().is_some_and(|len| len > limit) {
        return Err(CappedReadError::TooLarge);
    }
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(CappedReadError::Transport)? {
        if (out.len() + chunk.len()) as u64 > limit {
            return Err(CappedReadError::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
