//! Applies owners' request signing (`provisioner::signing`) to the provisioner's requests: a
//! request that carries a signature is verified before its handler runs; with signatures
//! required, an owner's request without one is refused. Requests without a valid token are left
//! to their handler, which answers 401 as always.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::bearer::verified_claims;
use super::error::ApiError;
use super::host::{OriginalPath, request_host};
use crate::app::AppState;
use crate::provisioner::signing::{
    Presented, SIGNATURE_HEADER, SignatureError, TIMESTAMP_HEADER, canonical,
};

pub async fn check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // In a block: nothing borrowing the request (whose body is not `Sync`) may live across an
    // await.
    let (timestamp, signature) = {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        (header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER))
    };
    let signing = &state.provisioner.signing;
    let present = timestamp.is_some() || signature.is_some();
    if !present && !signing.required {
        return next.run(request).await;
    }
    let Ok(claims) = verified_claims(&state, request.headers()) else {
        return next.run(request).await;
    };
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        if present {
            return refuse(SignatureError::Bad(format!(
                "send both {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}"
            )));
        }
        if claims.is_owner() {
            return refuse(SignatureError::Required(claims.sub.clone()));
        }
        return next.run(request).await;
    };
    let host = request_host(&request).unwrap_or_default();
    let path = request
        .extensions()
        .get::<OriginalPath>()
        .map_or_else(|| request.uri().path().to_owned(), |p| p.0.clone());
    let (parts, body) = request.into_parts();
    let limit = state.config.server.body_limit_bytes;
    let Ok(body) = to_bytes(body, limit).await else {
        return ApiError::bad_request(
            sliderule_protocol::codes::INVALID_REQUEST,
            format!("cannot read the body (at most {limit} bytes)"),
        )
        .into_response();
    };
    let message = canonical(&host, &path, &timestamp, &body);
    let presented = Presented {
        timestamp: &timestamp,
        signature: &signature,
    };
    if let Err(error) = signing
        .keys
        .verify(
            state.store.as_ref(),
            &claims.sub,
            presented,
            &message,
            state.clock.now(),
        )
        .await
    {
        tracing::info!(login = %claims.sub, %error, "signed request refused");
        return refuse(error);
    }
    next.run(Request::from_parts(parts, Body::from(body))).await
}

fn refuse(error: SignatureError) -> Response {
    ApiError::from(error).into_response()
}
