use super::*;
use crate::detect::tests::{detector, photo, TemplateFaces};
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
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
    assert_eq!(
        e.detect_bytes(&png(&img), "face.png").unwrap().score,
        want_score
    );
    let (status, body) = rt().block_on(call(
        router(e),
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
        router(engine()),
        Request::post("/api/detect").body(Body::empty()).unwrap(),
    ));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("empty"));
    let (status, body) = rt().block_on(call(
        router(engine()),
        Request::post("/api/detect?name=notes.txt")
            .body(Body::from("hello, not a picture"))
            .unwrap(),
    ));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let msg = v["error"].as_str().unwrap();
    assert!(
        msg.contains("notes.txt") && msg.contains("neither an image"),
        "{msg}"
    );
}

#[test]
fn page_and_health_describe_the_model() {
    let (status, body) = rt().block_on(call(
        router(engine()),
        Request::get("/").body(Body::empty()).unwrap(),
    ));
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("/api/detect") && html.contains("<input type=\"file\""));
    let (status, body) = rt().block_on(call(
        router(engine()),
        Request::get("/api/health").body(Body::empty()).unwrap(),
    ));
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (v["variant"].as_str(), v["backbone"].as_str()),
        (Some("did"), Some("resnet-tiny"))
    );
}
