use super::*;
use crate::detect::tests::{detector, photo, TemplateFaces};
use axum::http::Request;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use tower::ServiceExt;

fn engine() -> Engine {
    Engine {
        detector: detector(),
        finder: Box::new(TemplateFaces),
        device: Device::Cpu,
        options: DetectOptions::default(),
    }
}

async fn call(app: Router, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, body)
}

fn png(img: &image::RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn error_of(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    v["error"].as_str().unwrap().to_string()
}

#[test]
fn detect_answers_the_same_json_as_the_library() {
    let img = photo(4, 256);
    // One engine throughout: two random models would differ.
    let e = engine();
    let want_score = crate::detect::detect_rgb(
        &e.detector,
        Device::Cpu,
        &TemplateFaces,
        Path::new("face.png"),
        img.clone(),
        &DetectOptions::default(),
    )
    .unwrap()
    .score;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), png(&img)).unwrap();
    assert_eq!(
        e.detect_upload(file.path(), "face.png").unwrap().score,
        want_score
    );
    let (status, body) = rt().block_on(call(
        router(e, Limits::default()),
        Request::post("/api/detect?name=face.png")
            .body(Body::from(png(&img)))
            .unwrap(),
    ));
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["kind"], "image");
    assert_eq!(v["path"], "face.png");
    assert_eq!(v["faces"].as_array().unwrap().len(), 1);
    assert!((v["score"].as_f64().unwrap() - want_score.unwrap()).abs() < 1e-12);
    assert!(matches!(v["verdict"].as_str(), Some("fake" | "real")));
}

#[test]
fn bad_uploads_get_400_with_a_reason() {
    let (status, body) = rt().block_on(call(
        router(engine(), Limits::default()),
        Request::post("/api/detect").body(Body::empty()).unwrap(),
    ));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("empty"));
    let (status, body) = rt().block_on(call(
        router(engine(), Limits::default()),
        Request::post("/api/detect?name=notes.txt")
            .body(Body::from("hello, not a picture"))
            .unwrap(),
    ));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let msg = error_of(&body);
    assert!(
        msg.contains("notes.txt") && msg.contains("neither an image") && !msg.contains("/tmp"),
        "{msg}"
    );
}

#[test]
fn uploads_over_the_limit_get_413_declared_or_not() {
    let limits = Limits {
        max_upload: 1000,
        ..Limits::default()
    };
    // No Content-Length: the limit is found while streaming.
    let (status, body) = rt().block_on(call(
        router(engine(), limits.clone()),
        Request::post("/api/detect?name=big.mp4")
            .body(Body::from(vec![7u8; 1001]))
            .unwrap(),
    ));
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error_of(&body).contains("big.mp4"), "{}", error_of(&body));
    // A declared length over the limit is refused before any byte is read.
    let (status, _) = rt().block_on(call(
        router(engine(), limits.clone()),
        Request::post("/api/detect")
            .header(header::CONTENT_LENGTH, "5000000")
            .body(Body::empty())
            .unwrap(),
    ));
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Exactly at the limit is accepted (and then judged on its content).
    let (status, body) = rt().block_on(call(
        router(engine(), limits),
        Request::post("/api/detect?name=x.mp4")
            .body(Body::from(vec![7u8; 1000]))
            .unwrap(),
    ));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&body).contains("neither an image"));
}

#[test]
fn a_request_past_its_time_limit_gets_503() {
    let limits = Limits {
        timeout: Duration::ZERO,
        ..Limits::default()
    };
    let (status, body) = rt().block_on(call(
        router(engine(), limits),
        Request::post("/api/detect?name=face.png")
            .body(Body::from(png(&photo(1, 128))))
            .unwrap(),
    ));
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        error_of(&body).contains("time limit"),
        "{}",
        error_of(&body)
    );
}

#[test]
fn page_and_health_describe_the_model_without_its_path() {
    let (status, body) = rt().block_on(call(
        router(engine(), Limits::default()),
        Request::get("/").body(Body::empty()).unwrap(),
    ));
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("/api/detect") && html.contains("<input type=\"file\""));
    let e = engine();
    let path = e.detector.path.display().to_string();
    let (status, body) = rt().block_on(call(
        router(e, Limits::default()),
        Request::get("/api/health").body(Body::empty()).unwrap(),
    ));
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (v["variant"].as_str(), v["backbone"].as_str()),
        (Some("did"), Some("resnet-tiny"))
    );
    assert_eq!(
        (v["in_flight"].as_u64(), v["queue"].as_u64()),
        (Some(0), Some(4))
    );
    assert!(
        path.contains('/') && !text.contains(&path) && !text.contains("/tmp"),
        "{text}"
    );
}

/// One HTTP/1.1 exchange over a real socket: headers, then `body` (none when `expect` asks
/// the server to answer before any body byte is sent).
fn send(addr: SocketAddr, head: &str, body: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    // A hang guard: a broken server fails the test instead of stalling the suite.
    s.set_read_timeout(Some(Duration::from_secs(300))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    s
}

/// The status and the whole answer (head and body).
fn answer(mut s: TcpStream) -> (u16, String) {
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text}"));
    (status, text)
}

fn post_head(len: usize, extra: &str) -> String {
    post_to("/api/detect?name=face.png", len, extra)
}

fn post_to(target: &str, len: usize, extra: &str) -> String {
    format!(
        "POST {target} HTTP/1.1\r\nHost: t\r\nContent-Length: {len}\r\n\
         Connection: close\r\n{extra}\r\n"
    )
}

/// A GET's status and JSON body.
fn get_json(addr: SocketAddr, target: &str) -> (u16, serde_json::Value) {
    let s = send(
        addr,
        &format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
        b"",
    );
    let (status, text) = answer(s);
    let body = text.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap())
}

fn in_flight(addr: SocketAddr) -> u64 {
    let (status, v) = get_json(addr, "/api/health");
    assert_eq!(status, 200, "{v}");
    v["in_flight"].as_u64().unwrap()
}

fn start(limits: Limits) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        serve(engine(), limits, "127.0.0.1:0", |a| tx.send(a).unwrap()).unwrap();
    });
    rx.recv().unwrap()
}

#[test]
fn over_tcp_a_full_queue_answers_503_and_health_stays_up() {
    let addr = start(Limits {
        queue: 1,
        max_upload: 1 << 20,
        timeout: Duration::from_secs(600),
    });
    let img = png(&photo(2, 200));
    // A: admitted, then stalls halfway through its upload, holding the only slot.
    let (first, rest) = img.split_at(img.len() / 2);
    let mut a = send(addr, &post_head(img.len(), ""), first);
    // Health answers while A holds the slot; wait until the server has admitted A.
    let mut polls = 0;
    while in_flight(addr) == 0 {
        polls += 1;
        assert!(polls < 6000, "the server never admitted the first upload");
        std::thread::sleep(Duration::from_millis(10));
    }
    // B: refused at once, before it sends its body.
    let b = send(addr, &post_head(img.len(), "Expect: 100-continue\r\n"), b"");
    let (status, text) = answer(b);
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("busy") && text.to_ascii_lowercase().contains("retry-after"));
    // A finishes and is scored; its slot is free again afterwards.
    a.write_all(rest).unwrap();
    let (status, text) = answer(a);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"kind\":\"image\""), "{text}");
    assert_eq!(in_flight(addr), 0);
    let c = send(addr, &post_head(2 << 20, "Expect: 100-continue\r\n"), b"");
    let (status, text) = answer(c);
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("limit of 1 MiB"), "{text}");
}

#[test]
fn the_page_gets_each_faces_heat_map_as_a_png() {
    use base64::Engine as _;
    let mut e = engine();
    e.options.heatmaps = true;
    let (status, body) = rt().block_on(call(
        router(e, Limits::default()),
        Request::post("/api/detect?name=face.png")
            .body(Body::from(png(&photo(4, 256))))
            .unwrap(),
    ));
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let face = &v["faces"][0];
    let url = face["heatmap"].as_str().unwrap();
    let b64 = url.strip_prefix("data:image/png;base64,").unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let img = image::load_from_memory(&bytes).unwrap();
    let columns = face["heatmap_columns"].as_array().unwrap().len() as u32;
    assert_eq!(columns, 4);
    assert_eq!(
        (img.width(), img.height()),
        (columns * 112 + (columns - 1) * 4, 112)
    );
}

#[test]
fn a_followed_request_reports_its_progress_until_answered() {
    let addr = start(Limits {
        queue: 2,
        max_upload: 1 << 20,
        timeout: Duration::from_secs(600),
    });
    let img = png(&photo(2, 200));
    let (first, rest) = img.split_at(img.len() / 2);
    let target = "/api/detect?name=face.png&job=page-1";
    let mut a = send(addr, &post_to(target, img.len(), ""), first);
    // The server has read what was sent so far; poll until it says so.
    let mut polls = 0;
    let state = loop {
        let (status, v) = get_json(addr, "/api/progress?job=page-1");
        if status == 200 && v["received_bytes"].as_u64() == Some(first.len() as u64) {
            break v;
        }
        polls += 1;
        assert!(
            polls < 6000,
            "progress never showed the bytes sent: {status} {v}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(state["stage"], "uploading", "{state}");
    // A second request may not take an id in flight, nor an id that is not plain.
    let b = send(addr, &post_to(target, 0, "Expect: 100-continue\r\n"), b"");
    let (status, text) = answer(b);
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("page-1 is already in flight"), "{text}");
    let bad = "/api/detect?name=face.png&job=a%2Fb";
    let (status, text) = answer(send(addr, &post_to(bad, 0, ""), b""));
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("job:"), "{text}");
    a.write_all(rest).unwrap();
    let (status, text) = answer(a);
    assert_eq!(status, 200, "{text}");
    // Once answered the job is gone, and so are refused ones.
    let (status, v) = get_json(addr, "/api/progress?job=page-1");
    assert_eq!(status, 404, "{v}");
    assert!(v["error"].as_str().unwrap().contains("was answered"), "{v}");
    assert_eq!(in_flight(addr), 0);
}
