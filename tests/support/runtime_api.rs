//! A Lambda Runtime API emulator on loopback, as AWS Lambda serves it to a custom runtime:
//! `GET /2018-06-01/runtime/invocation/next` long-polls for the next event and answers it with
//! `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms` and the function's ARN;
//! `POST …/invocation/{id}/response` and `POST …/invocation/{id}/error` record the function's
//! answer; `POST …/runtime/init/error` records a failed start. A test invokes one event at a
//! time and reads the answer back.

use std::convert::Infallible;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use serde_json::Value;
use tokio::sync::Mutex;

const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:certaudit";

/// What the function answered to one invocation.
#[derive(Debug, Clone)]
pub struct Answer {
    pub request_id: String,
    /// `response`, `error` or `init-error`.
    pub kind: String,
    /// The body's `errorType` (else `Lambda-Runtime-Function-Error-Type`), for errors.
    pub error_type: Option<String>,
    pub body: Value,
}

struct State {
    events: Mutex<tokio::sync::mpsc::UnboundedReceiver<(String, Bytes, u128)>>,
    answers: std::sync::Mutex<mpsc::Sender<Answer>>,
}

pub struct RuntimeApi {
    /// `host:port`, for AWS_LAMBDA_RUNTIME_API.
    pub address: String,
    events: tokio::sync::mpsc::UnboundedSender<(String, Bytes, u128)>,
    answers: std::sync::Mutex<mpsc::Receiver<Answer>>,
    next_id: std::sync::atomic::AtomicUsize,
    _runtime: tokio::runtime::Runtime,
}

impl RuntimeApi {
    pub fn start() -> RuntimeApi {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (events, pending) = tokio::sync::mpsc::unbounded_channel();
        let (answered, answers) = mpsc::channel();
        let state = Arc::new(State {
            events: Mutex::new(pending),
            answers: std::sync::Mutex::new(answered),
        });
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let address = listener.local_addr().unwrap().to_string();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = state.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| serve(state.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        RuntimeApi {
            address,
            events,
            answers: std::sync::Mutex::new(answers),
            next_id: Default::default(),
            _runtime: runtime,
        }
    }

    /// Hand the function one event (raw bytes, as Lambda passes the payload) with 15 minutes
    /// to answer, and wait for its answer.
    pub fn invoke(&self, payload: &[u8]) -> Answer {
        self.invoke_within(payload, Duration::from_secs(900))
    }

    /// The same, with `time` until the invocation's deadline.
    pub fn invoke_within(&self, payload: &[u8], time: Duration) -> Answer {
        let n = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let request_id = format!("8476a536-e9f4-11e8-9739-{n:012}");
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + time.as_millis();
        self.events
            .send((
                request_id.clone(),
                Bytes::copy_from_slice(payload),
                deadline,
            ))
            .unwrap();
        let answer = self
            .answers
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(180))
            .unwrap_or_else(|e| panic!("no answer to invocation {request_id}: {e}"));
        assert!(
            answer.request_id == request_id || answer.kind == "init-error",
            "answered {} for {request_id}",
            answer.request_id
        );
        answer
    }
}

fn reply(status: u16, body: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

async fn serve(
    state: Arc<State>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method().clone();
    if method == hyper::Method::GET && path == "/2018-06-01/runtime/invocation/next" {
        let Some((id, payload, deadline)) = state.events.lock().await.recv().await else {
            return Ok(reply(500, "{}"));
        };
        let response = Response::builder()
            .status(200)
            .header("Lambda-Runtime-Aws-Request-Id", &id)
            .header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
            .header("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN)
            .header("Lambda-Runtime-Trace-Id", format!("Root=1-5bef4de7-{id}"))
            .body(Full::new(payload))
            .unwrap();
        return Ok(response);
    }
    let error_type = req
        .headers()
        .get("Lambda-Runtime-Function-Error-Type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = match (method == hyper::Method::POST, parts.as_slice()) {
        (true, ["2018-06-01", "runtime", "invocation", id, kind @ ("response" | "error")]) => {
            Answer {
                request_id: id.to_string(),
                kind: kind.to_string(),
                // The body's errorType is what Lambda reports to the invoker (the header says
                // `unhandled` for every function error).
                error_type: body["errorType"]
                    .as_str()
                    .map(str::to_string)
                    .or(error_type),
                body,
            }
        }
        (true, ["2018-06-01", "runtime", "init", "error"]) => Answer {
            request_id: String::new(),
            kind: "init-error".into(),
            error_type,
            body,
        },
        _ => return Ok(reply(404, "{\"errorMessage\": \"unknown path\"}")),
    };
    let _ = state.answers.lock().unwrap().send(answer);
    Ok(reply(202, "{\"status\": \"OK\"}"))
}
