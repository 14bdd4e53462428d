//! `crossdf serve`: the detector behind an HTTP API and a one-page web front end.
//!
//! - `GET /` — the page: pick an image or video, see each face's box and P(fake).
//! - `POST /api/detect[?name=FILE]` — the body is an image or a video file; the answer is
//!   `detect`'s JSON for it. Images are decoded in memory; videos go through a temp file
//!   because FFmpeg reads files.
//! - `GET /api/health` — the model that answers.
//!
//! One engine serves all requests, one at a time, on a blocking thread: the model already
//! uses every core for one image, so parallel requests would only compete.
use crate::detect::{self, DetectOptions, MediaScore};
use crate::detector::Detector;
use crate::error::{Error, Result};
use crate::face::FaceDetector;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tch::Device;

/// Largest upload accepted (a few minutes of compressed video).
pub const MAX_UPLOAD: usize = 512 << 20;

/// Everything a request needs: the trained model, the face finder and the options.
pub struct Engine {
    pub detector: Detector,
    pub finder: Box<dyn FaceDetector>,
    pub device: Device,
    pub options: DetectOptions,
}

impl Engine {
    /// Scores one uploaded file; `name` (for its extension) only matters for videos.
    pub fn detect_bytes(&self, bytes: &[u8], name: &str) -> Result<MediaScore> {
        if bytes.is_empty() {
            return Err(Error::invalid(
                "the request body is empty: send an image or video file",
            ));
        }
        let label = Path::new(if name.is_empty() { "upload" } else { name });
        if let Ok(format) = image::guess_format(bytes) {
            let img = image::load_from_memory_with_format(bytes, format).map_err(|source| {
                Error::Image {
                    path: label.to_path_buf(),
                    source,
                }
            })?;
            return detect::detect_rgb(
                &self.detector,
                self.device,
                self.finder.as_ref(),
                label,
                img.to_rgb8(),
                &self.options,
            );
        }
        // Not an image: let FFmpeg try it as a video, from a temp file with the name's extension.
        let ext = label
            .extension()
            .and_then(|e| e.to_str())
            .filter(|e| e.chars().all(|c| c.is_ascii_alphanumeric()))
            .unwrap_or("mp4");
        let tmp = tempfile::Builder::new()
            .prefix("crossdf-upload-")
            .suffix(&format!(".{ext}"))
            .tempfile()
            .map_err(|e| Error::io(std::env::temp_dir(), e))?;
        std::fs::write(tmp.path(), bytes).map_err(|e| Error::io(tmp.path(), e))?;
        let mut r = detect::detect_file(
            &self.detector,
            self.device,
            self.finder.as_ref(),
            tmp.path(),
            &self.options,
        );
        r.path = label.display().to_string();
        match r.error.take() {
            Some(e) => Err(Error::invalid(format!(
                "{}: neither an image nor a readable video ({})",
                label.display(),
                e.replace(&tmp.path().display().to_string(), "upload")
            ))),
            None => Ok(r),
        }
    }
}

type Shared = Arc<Mutex<Engine>>;

#[derive(serde::Deserialize)]
struct DetectQuery {
    #[serde(default)]
    name: String,
}

fn error(status: StatusCode, msg: String) -> Response {
    (status, Json(serde_json::json!({ "error": msg }))).into_response()
}

async fn detect_handler(
    State(engine): State<Shared>,
    Query(q): Query<DetectQuery>,
    body: Bytes,
) -> Response {
    let job = tokio::task::spawn_blocking(move || {
        let engine = engine.lock().unwrap_or_else(|p| p.into_inner());
        engine.detect_bytes(&body, &q.name)
    });
    match job.await {
        Ok(Ok(r)) => Json(r).into_response(),
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("detector failed: {e}"),
        ),
    }
}

async fn health(State(engine): State<Shared>) -> Response {
    let engine = engine.lock().unwrap_or_else(|p| p.into_inner());
    let d = &engine.detector;
    Json(serde_json::json!({
        "status": "ok",
        "model": d.path.display().to_string(),
        "variant": d.config.model.variant.to_string(),
        "backbone": d.config.model.backbone.to_string(),
        "checkpoint": d.checkpoint_rule(),
        "threshold": engine.options.threshold,
    }))
    .into_response()
}

async fn page() -> Html<&'static str> {
    Html(include_str!("serve_page.html"))
}

/// The routes, ready to serve or to call in tests.
pub fn router(engine: Engine) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/api/health", get(health))
        .route("/api/detect", post(detect_handler))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD))
        .with_state(Arc::new(Mutex::new(engine)))
}

/// Serves until the process is stopped.
pub fn serve(
    engine: Engine,
    addr: &str,
    on_ready: impl FnOnce(std::net::SocketAddr),
) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::invalid(format!("starting the server runtime: {e}")))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::invalid(format!("cannot listen on {addr}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::invalid(format!("cannot listen on {addr}: {e}")))?;
        on_ready(local);
        axum::serve(listener, router(engine))
            .await
            .map_err(|e| Error::invalid(format!("server stopped: {e}")))
    })
}

#[cfg(test)]
#[path = "serve_tests.rs"]
mod tests;
