//! The admin API (bearer `HOOKLAYER_ADMIN_TOKEN`): apps and their tokens. The CLI's `apps` and
//! `tokens` commands call the same functions, so both print the same objects.

use super::auth::authorize_admin;
use super::error::ApiError;
use super::json_body;
use super::request::{parse_object, read_body};
use crate::service::apps::{self, parse_app_name, NewApp};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hooklayer_core::ids::AppId;
use hooklayer_store::App;
use serde::Serialize;
use std::sync::Arc;

/// An app as listed (no token).
#[derive(Serialize, utoipa::ToSchema)]
pub struct AppOut {
    pub id: String,
    pub uuid: String,
    pub name: String,
    pub created_at: String,
}

impl From<&App> for AppOut {
    fn from(app: &App) -> Self {
        Self {
            id: app.id.layer_uri(),
            uuid: app.id.to_string(),
            name: app.name.clone(),
            created_at: app.created_at.to_rfc3339(),
        }
    }
}

/// A new app with its first token (shown this once).
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedApp {
    #[serde(flatten)]
    pub app: AppOut,
    pub token: String,
}

/// The token object of `POST /admin/apps/:uuid/tokens` and `hooklayer tokens create`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub token: String,
}

impl From<NewApp> for CreatedApp {
    fn from(new: NewApp) -> Self {
        Self {
            app: AppOut::from(&new.app),
            token: new.token,
        }
    }
}

/// Creates an app and its first token (shown this once).
#[utoipa::path(post, path = "/admin/apps", tag = "admin", security(("admin_token" = [])), request_body = crate::ops::openapi::NewApp,
    responses((status = 201, description = "The app with its token.", body = CreatedApp), crate::ops::openapi::AdminBodyErrors))]
pub async fn create_app(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    authorize_admin(&state, &headers)?;
    let body = parse_object(&read_body(body, state.config.max_payload).await?)?;
    let name = parse_app_name(body.get("name"))?;
    let created = CreatedApp::from(apps::create(state.store.as_ref(), name).await?);
    Ok((StatusCode::CREATED, json_body(&created)).into_response())
}

/// Lists the apps, oldest first (no tokens).
#[utoipa::path(get, path = "/admin/apps", tag = "admin", security(("admin_token" = [])),
    responses((status = 200, description = "Every app.", body = Vec<AppOut>), crate::ops::openapi::AdminErrors))]
pub async fn list_apps(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize_admin(&state, &headers)?;
    let apps = state.store.list_apps().await?;
    Ok(json_body(
        &apps.iter().map(AppOut::from).collect::<Vec<_>>(),
    ))
}

/// Issues another API token for an app.
#[utoipa::path(post, path = "/admin/apps/{app_uuid}/tokens", tag = "admin", security(("admin_token" = [])), params(crate::ops::openapi::AdminAppParams),
    responses((status = 201, description = "The new token (shown this once).", body = CreatedToken), crate::ops::openapi::AdminErrors))]
pub async fn create_token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(app): Path<String>,
) -> Result<Response, ApiError> {
    authorize_admin(&state, &headers)?;
    let app: AppId = app.parse().map_err(|_| ApiError::not_found("app"))?;
    let token = apps::create_token(state.store.as_ref(), app)
        .await?
        .ok_or_else(|| ApiError::not_found("app"))?;
    let created = CreatedToken { token };
    Ok((StatusCode::CREATED, json_body(&created)).into_response())
}

/// Deletes an app with its webhooks, events and deliveries.
#[utoipa::path(delete, path = "/admin/apps/{app_uuid}", tag = "admin", security(("admin_token" = [])), params(crate::ops::openapi::AdminAppParams),
    responses((status = 204, description = "Deleted."), crate::ops::openapi::AdminErrors))]
pub async fn delete_app(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(app): Path<String>,
) -> Result<Response, ApiError> {
    authorize_admin(&state, &headers)?;
    let app: AppId = app.parse().map_err(|_| ApiError::not_found("app"))?;
    if state.store.delete_app(app).await? {
        state.listeners.app_deleted(app);
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found("app"))
    }
}
