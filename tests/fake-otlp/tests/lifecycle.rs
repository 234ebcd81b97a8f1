//! Start/stop behaviour: hanging requests, ports reused, receiver appearing late.

mod common;

use std::time::{Duration, Instant};

use common::{http, post_traces, request};
use fake_otlp::{Behavior, FakeOtlp, Options, reserve_port};
use prost::Message;

const PROTO: &str = "application/x-protobuf";

#[test]
fn stop_returns_with_a_request_hanging() {
    let fake = FakeOtlp::start();
    fake.set_default(Behavior::Hang);
    let addr = fake.http_addr();
    let body = request("svc", 1).encode_to_vec();
    let client = std::thread::spawn(move || {
        http(
            addr,
            "POST",
            "/v1/traces",
            &[("Content-Type", PROTO)],
            &body,
        )
    });
    assert!(fake.wait_for_attempts(1, Duration::from_secs(10)));

    let started = Instant::now();
    fake.stop();
    // Generous bound: without cancellation this would never return.
    assert!(started.elapsed() < Duration::from_secs(5));
    let outcome = client.join().unwrap();
    assert!(
        outcome.is_err(),
        "hung request must not get an answer: {outcome:?}"
    );
    assert_eq!(fake.span_count(), 0);

    // Port closed after stop.
    assert!(std::net::TcpStream::connect(addr).is_err());
    fake.stop(); // idempotent
}

#[test]
fn drop_with_grpc_request_hanging() {
    let fake = FakeOtlp::start();
    fake.set_default(Behavior::Hang);
    let endpoint = fake.grpc_endpoint();
    let client = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use fake_otlp::opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
            let mut client = TraceServiceClient::connect(endpoint).await.unwrap();
            client.export(request("svc", 1)).await
        })
    });
    assert!(fake.wait_for_attempts(1, Duration::from_secs(10)));
    drop(fake);
    let outcome = client.join().unwrap();
    assert!(outcome.is_err());
}

#[test]
fn receiver_absent_at_start_then_present() {
    let port = reserve_port();
    assert_ne!(port, 0);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "nothing listens yet"
    );

    let fake = FakeOtlp::start_with(Options {
        http_port: Some(port),
        ..Options::default()
    });
    assert_eq!(fake.http_endpoint(), format!("http://127.0.0.1:{port}"));
    let reply = post_traces(addr, PROTO, &[], &request("svc", 1).encode_to_vec());
    assert_eq!(reply.status, 200);

    // Present, then absent, then present again on the same port.
    fake.stop();
    assert!(std::net::TcpStream::connect(addr).is_err());
    let again = FakeOtlp::start_with(Options {
        http_port: Some(port),
        ..Options::default()
    });
    assert_eq!(
        post_traces(addr, PROTO, &[], &request("svc", 1).encode_to_vec()).status,
        200
    );
    assert_eq!(again.span_count(), 1);
}

#[test]
fn taken_port_is_an_error() {
    let fake = FakeOtlp::start();
    let err = FakeOtlp::try_start_with(Options {
        grpc_port: Some(fake.http_addr().port()),
        ..Options::default()
    })
    .unwrap_err();
    assert!(matches!(err, fake_otlp::Error::Bind { .. }), "{err}");
}
