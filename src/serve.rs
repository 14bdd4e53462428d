//! `crossdf serve`: the detector behind an HTTP API and a one-page web front end.
//!
//! - `GET /` — the page: pick an image or video, see each face's box and P(fake).
//! - `POST /api/detect[?name=FILE]` — the body is an image or a video file; the answer is
//!   `detect`'s JSON for it.
//! - `GET /api/health` — the model that answers (its name, never its path) and how busy it is.
//! - `GET /api/progress?job=ID` — how far the request sent with `?job=ID` has come (bytes
//!   received, then frames scored), so the page can show a long video's progress while the
//!   POST is still open; 404 once it has been answered.
//!
//! Uploads stream to a temp file with the size limit enforced as the bytes arrive, so a
//! request costs disk, not memory. At most [`Limits::queue`] requests are admitted at once
//! (uploading, waiting for the model or being scored); one more gets 503 at once instead of
//! piling up. One engine scores one request at a time on a blocking thread: the model already
//! uses every core for one image, so parallel scoring would only compete.
use crate::detect::{self, DetectOptions, MediaScore};
use crate::detector::Detector;
use crate::error::{Error, Result};
use crate::face::FaceDetector;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::BodyExt;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tch::Device;
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

/// Everything a request needs: the trained model, the face finder and the options.
pub struct Engine {
    pub detector: Detector,
    pub finder: Box<dyn FaceDetector>,
    pub device: Device,
    pub options: DetectOptions,
}

/// What keeps one server up under many or large uploads.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest upload in bytes (a few minutes of compressed video by default).
    pub max_upload: u64,
    /// Requests admitted at once; the next one is answered 503.
    pub queue: usize,
    /// From a request's arrival to its answer; a request over it is answered 503.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_upload: 512 << 20,
            queue: 4,
            timeout: Duration::from_secs(300),
        }
    }
}

/// A face's heat-map strip as a PNG data URL, for the page to show without a second request.
fn data_url(heat: &crate::heatmap::FaceHeat) -> Result<String> {
    use base64::Engine as _;
    let strip = crate::heatmap::strip(heat, 112)?;
    let mut png = Vec::new();
    strip
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| Error::invalid(format!("encoding a heat map: {e}")))?;
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}

/// Heat maps (when computed) as data URLs in the answer.
fn with_heatmaps(mut r: MediaScore) -> Result<MediaScore> {
    for f in &mut r.faces {
        if let Some(h) = f.heat.take() {
            f.heatmap = Some(data_url(&h)?);
        }
    }
    Ok(r)
}

impl Engine {
    /// Scores one uploaded file: an image when its bytes say so, else a video for FFmpeg.
    /// `name` is what messages and the answer call it; `path` is never shown.
    pub fn detect_upload(&self, path: &Path, name: &str) -> Result<MediaScore> {
        self.detect_upload_with_progress(path, name, &|_, _| {})
    }

    /// [`Engine::detect_upload`], telling `progress` how many of a video's frames are scored.
    pub fn detect_upload_with_progress(
        &self,
        path: &Path,
        name: &str,
        progress: detect::Progress,
    ) -> Result<MediaScore> {
        self.detect_upload_maps(path, name, progress)
            .and_then(with_heatmaps)
    }

    fn detect_upload_maps(
        &self,
        path: &Path,
        name: &str,
        progress: detect::Progress,
    ) -> Result<MediaScore> {
        let label = Path::new(if name.is_empty() { "upload" } else { name });
        let len = std::fs::metadata(path)
            .map_err(|e| Error::io(path, e))?
            .len();
        if len == 0 {
            return Err(Error::invalid(
                "the request body is empty: send an image or video file",
            ));
        }
        let reader = image::ImageReader::open(path)
            .and_then(|r| r.with_guessed_format())
            .map_err(|e| Error::io(path, e))?;
        if reader.format().is_some() {
            let img = reader.decode().map_err(|source| Error::Image {
                path: label.to_path_buf(),
                source,
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
        let mut r = detect::detect_file_with_progress(
            &self.detector,
            self.device,
            self.finder.as_ref(),
            path,
            &self.options,
            progress,
        );
        r.path = label.display().to_string();
        match r.error.take() {
            Some(e) => Err(Error::invalid(format!(
                "{}: neither an image nor a readable video ({})",
                label.display(),
                e.replace(&path.display().to_string(), "upload")
            ))),
            None => Ok(r),
        }
    }
}

/// Where one admitted request stands, as `/api/progress` shows it.
#[derive(Debug, Clone, Default, serde::Serialize)]
struct JobState {
    /// `uploading`, `waiting` (for the model) or `scoring`.
    stage: &'static str,
    received_bytes: u64,
    /// Video frames scored so far, of `frames` (both 0 for an image).
    frames_scored: usize,
    frames: usize,
}

/// The requests in flight that asked to be followed; at most [`Limits::queue`] of them,
/// since only admitted requests are entered.
type Jobs = Arc<Mutex<HashMap<String, JobState>>>;

/// One followed request's entry, removed when the request ends however it ends.
struct Job {
    jobs: Jobs,
    id: Option<String>,
}

impl Job {
    fn update(&self, f: impl FnOnce(&mut JobState)) {
        if let Some(id) = &self.id {
            if let Some(s) = lock(&self.jobs).get_mut(id) {
                f(s);
            }
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if let Some(id) = &self.id {
            lock(&self.jobs).remove(id);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct App {
    engine: Mutex<Engine>,
    slots: Arc<Semaphore>,
    limits: Limits,
    /// Health's fixed part, kept apart so health never waits for the engine.
    info: serde_json::Value,
    jobs: Jobs,
}

#[derive(serde::Deserialize)]
struct DetectQuery {
    #[serde(default)]
    name: String,
    /// A client-chosen id under which `/api/progress` reports this request.
    #[serde(default)]
    job: Option<String>,
}

#[derive(serde::Deserialize)]
struct ProgressQuery {
    job: String,
}

/// Job ids are the client's: short and plain, so they cannot flood the map or the logs.
fn valid_job_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn error(status: StatusCode, msg: String) -> Response {
    (status, Json(serde_json::json!({ "error": msg }))).into_response()
}

fn too_slow(limits: &Limits, what: &str) -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "{what} went past the per-request time limit of {} s",
            limits.timeout.as_secs_f64()
        ),
    )
}

/// Streams the body into a temp file whose extension FFmpeg can go by; the size limit holds
/// whatever the client declared.
async fn receive(
    headers: &HeaderMap,
    mut body: Body,
    name: &str,
    max: u64,
    job: &Job,
) -> std::result::Result<tempfile::NamedTempFile, Response> {
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{}: the upload is larger than this server's limit of {} MiB",
                if name.is_empty() { "upload" } else { name },
                max >> 20
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large());
    }
    let ext = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| crate::prepare::is_video(Path::new(&format!("x.{e}"))))
        .unwrap_or("mp4");
    let internal = |e: std::io::Error| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot store the upload in a temp file: {e}"),
        )
    };
    let tmp = tempfile::Builder::new()
        .prefix("crossdf-upload-")
        .suffix(&format!(".{ext}"))
        .tempfile()
        .map_err(internal)?;
    let mut file = tokio::fs::File::from_std(tmp.reopen().map_err(internal)?);
    let mut received = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                format!("the upload broke off: {e}"),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            received += data.len() as u64;
            if received > max {
                return Err(too_large());
            }
            file.write_all(&data).await.map_err(internal)?;
            job.update(|s| s.received_bytes = received);
        }
    }
    file.flush().await.map_err(internal)?;
    Ok(tmp)
}

async fn detect_handler(
    State(app): State<Arc<App>>,
    Query(q): Query<DetectQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(slot) = app.slots.clone().try_acquire_owned() else {
        let mut r = error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "busy: {} requests are being uploaded or scored; try again shortly",
                app.limits.queue
            ),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        return r;
    };
    let job = match follow(&app.jobs, q.job.as_deref()) {
        Ok(job) => job,
        Err((status, msg)) => return error(status, msg),
    };
    let deadline = Instant::now() + app.limits.timeout;
    let upload = tokio::time::timeout_at(
        deadline.into(),
        receive(&headers, body, &q.name, app.limits.max_upload, &job),
    );
    let tmp = match upload.await {
        Err(_) => return too_slow(&app.limits, "the upload"),
        Ok(Err(r)) => return r,
        Ok(Ok(tmp)) => tmp,
    };
    let job_app = app.clone();
    let job = tokio::task::spawn_blocking(move || {
        // The slot stays taken until scoring ends, even when the answer has gone out
        // after the time limit, so the bound on work in flight holds.
        let _slot = slot;
        if Instant::now() >= deadline {
            return None;
        }
        job.update(|s| s.stage = "waiting");
        let engine = lock(&job_app.engine);
        if Instant::now() >= deadline {
            return None;
        }
        job.update(|s| s.stage = "scoring");
        let progress = |done, total| {
            job.update(|s| {
                s.frames_scored = done;
                s.frames = total;
            })
        };
        Some(engine.detect_upload_with_progress(tmp.path(), &q.name, &progress))
    });
    match tokio::time::timeout_at(deadline.into(), job).await {
        Err(_) | Ok(Ok(None)) => too_slow(&app.limits, "scoring"),
        Ok(Ok(Some(Ok(r)))) => Json(r).into_response(),
        Ok(Ok(Some(Err(e)))) => error(StatusCode::BAD_REQUEST, e.to_string()),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("detector failed: {e}"),
        ),
    }
}

/// Enters a request that asked to be followed; an id already in flight is refused, since
/// two requests could not both be reported under it.
fn follow(jobs: &Jobs, id: Option<&str>) -> std::result::Result<Job, (StatusCode, String)> {
    let Some(id) = id else {
        return Ok(Job {
            jobs: jobs.clone(),
            id: None,
        });
    };
    if !valid_job_id(id) {
        return Err((
            StatusCode::BAD_REQUEST,
            "job: give 1 to 64 letters, digits, '-' or '_'".into(),
        ));
    }
    let mut map = lock(jobs);
    if map.contains_key(id) {
        return Err((
            StatusCode::CONFLICT,
            format!("job {id} is already in flight: choose another id"),
        ));
    }
    map.insert(
        id.to_string(),
        JobState {
            stage: "uploading",
            ..JobState::default()
        },
    );
    Ok(Job {
        jobs: jobs.clone(),
        id: Some(id.to_string()),
    })
}

async fn progress(State(app): State<Arc<App>>, Query(q): Query<ProgressQuery>) -> Response {
    match lock(&app.jobs).get(&q.job) {
        Some(s) => Json(s.clone()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!(
                "no request with job {} is in flight: it was answered, refused or never sent",
                q.job
            ),
        ),
    }
}

async fn health(State(app): State<Arc<App>>) -> Response {
    let mut v = app.info.clone();
    v["in_flight"] = (app.limits.queue - app.slots.available_permits()).into();
    v["queue"] = app.limits.queue.into();
    v["max_upload_mib"] = (app.limits.max_upload >> 20).into();
    Json(v).into_response()
}

async fn page() -> Html<&'static str> {
    Html(include_str!("serve_page.html"))
}

/// The routes, ready to serve or to call in tests.
pub fn router(engine: Engine, limits: Limits) -> Router {
    let d = &engine.detector;
    let info = serde_json::json!({
        "status": "ok",
        "model": d.name(),
        "variant": d.config.model.variant.to_string(),
        "backbone": d.config.model.backbone.to_string(),
        "checkpoint": d.checkpoint_rule(),
        "threshold": engine.options.threshold,
    });
    let app = App {
        slots: Arc::new(Semaphore::new(limits.queue)),
        engine: Mutex::new(engine),
        limits,
        info,
        jobs: Jobs::default(),
    };
    Router::new()
        .route("/", get(page))
        .route("/api/health", get(health))
        .route("/api/detect", post(detect_handler))
        .route("/api/progress", get(progress))
        .with_state(Arc::new(app))
}

/// Serves until the process is stopped.
pub fn serve(
    engine: Engine,
    limits: Limits,
    addr: &str,
    on_ready: impl FnOnce(std::net::SocketAddr),
) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::system("starting the server runtime", e))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::system(format!("cannot listen on {addr}"), e))?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::system(format!("cannot listen on {addr}"), e))?;
        on_ready(local);
        axum::serve(listener, router(engine, limits))
            .await
            .map_err(|e| Error::system("server stopped", e))
    })
}

#[cfg(test)]
#[path = "serve_tests.rs"]
mod tests;
