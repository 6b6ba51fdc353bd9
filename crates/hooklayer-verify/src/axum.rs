//! The axum extractor (feature `axum`): a handler that takes [`VerifiedBody`] only runs for
//! requests whose signatures verify; any other request is answered `401` with the reason of
//! each failed check, before the handler sees it.
//!
//! The [`Verifier`] comes from the router's state (`Verifier: FromRef<S>`), so the secret is
//! loaded once at start.

use crate::{Rejected, Scheme, Verifier};
use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// The raw body of a request whose signatures verified, with the schemes that did.
///
/// ```
/// use axum::{routing::post, Router};
/// use hooklayer_verify::{axum::VerifiedBody, Verifier};
///
/// async fn hook(VerifiedBody { body, .. }: VerifiedBody) -> &'static str {
///     // `body` is exactly what was signed: parse it only now.
///     let _event: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
///     "ok"
/// }
///
/// let app: Router = Router::new()
///     .route("/hook", post(hook))
///     .with_state(Verifier::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
/// ```
#[derive(Clone, Debug)]
pub struct VerifiedBody {
    /// The body, byte for byte as received (and signed).
    pub body: Bytes,
    /// The schemes that verified.
    pub schemes: Vec<Scheme>,
}

/// Why [`VerifiedBody`] refused a request.
#[derive(Debug)]
pub enum VerifyRejection {
    /// The body could not be read (too large, connection lost): answered as axum would.
    Body(axum::extract::rejection::BytesRejection),
    /// A signature check failed: `401` with one reason per line.
    Unverified(Rejected),
}

impl IntoResponse for VerifyRejection {
    fn into_response(self) -> Response {
        match self {
            VerifyRejection::Body(e) => e.into_response(),
            VerifyRejection::Unverified(rejected) => {
                (StatusCode::UNAUTHORIZED, rejected.to_string()).into_response()
            }
        }
    }
}

impl<S> FromRequest<S> for VerifiedBody
where
    S: Send + Sync,
    Verifier: FromRef<S>,
{
    type Rejection = VerifyRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Verifier::from_ref(state);
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(VerifyRejection::Body)?;
        let verified = verifier
            .verify(&headers, &body)
            .map_err(VerifyRejection::Unverified)?;
        Ok(Self {
            body,
            schemes: verified.schemes(),
        })
    }
}
