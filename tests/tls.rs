//! TLS trust: besides the bundled roots, the run trusts the platform's roots and the
//! certificates of `SSL_CERT_FILE`, so it works behind a corporate proxy whose CA is installed
//! on the machine. An HTTPS agent on loopback whose certificate comes from a CA made here is
//! reached with `SSL_CERT_FILE` naming that CA, and refused without it.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use common::*;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA (its PEM) and a server certificate for 127.0.0.1 that it signed (DER, with its key).
fn ca_and_server_cert() -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "agenttest test proxy CA");
    let ca = ca_params.self_signed(&ca_key).expect("CA cert");
    let key = KeyPair::generate().expect("server key");
    let params = CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("server params");
    let cert = params.signed_by(&key, &ca, &ca_key).expect("server cert");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (ca.pem(), cert.der().clone(), key)
}

/// Reads one request's head (the body is small and ignored); `None` when the handshake or the
/// read fails, as it does when the client refuses the certificate.
fn read_head(stream: &mut impl Read) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Serves HTTPS on loopback with `cert`: every request gets a 401 with a `detail`, which a turn
/// that expects 401 takes as a pass. Returns the base URL.
fn https_agent(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> String {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("server config");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("https://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                continue;
            };
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            if read_head(&mut tls).is_none() {
                continue;
            }
            let body = r#"{"detail":"reached over TLS"}"#;
            let _ = write!(
                tls,
                "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    url
}

fn suite(ws: &Workspace, url: &str) {
    ws.write(
        "tls.yaml",
        &format!(
            "endpoint: {{base_url: '{url}', agent_id: ag_tls, api_key: ak_tls_test_key, retries: 0, timeout: 10s}}\ndialogues:\n  - name: reached\n    golden: false\n    turns:\n      - user: hi\n        expect: {{status: 401}}\n"
        ),
    );
}

fn run(ws: &Workspace, cert_file: Option<&Path>) -> std::process::Output {
    let mut cmd = agenttest();
    cmd.current_dir(ws.path())
        .args(["run", "tls.yaml", "-v"])
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    if let Some(f) = cert_file {
        cmd.env("SSL_CERT_FILE", f);
    }
    cmd.output().expect("run")
}

#[test]
fn ssl_cert_file_adds_a_trusted_ca_and_without_it_the_certificate_is_refused() {
    let (ca_pem, cert, key) = ca_and_server_cert();
    let url = https_agent(cert, key);
    let ws = Workspace::new();
    suite(&ws, &url);
    let ca_file = ws.write("proxy-ca.pem", &ca_pem);

    let trusted = run(&ws, Some(&ca_file));
    assert_code(&trusted, 0);
    assert!(stdout(&trusted).contains("PASS"), "{}", stdout(&trusted));

    let refused = run(&ws, None);
    assert_code(&refused, 3);
    let text = stdout(&refused).to_lowercase();
    assert!(text.contains("certificate"), "{}", stdout(&refused));
}

#[test]
fn a_broken_ssl_cert_file_does_not_crash_the_run() {
    let (_, cert, key) = ca_and_server_cert();
    let url = https_agent(cert, key);
    let ws = Workspace::new();
    suite(&ws, &url);
    // A PEM block that is no certificate, as a truncated copy-paste leaves.
    let bad = ws.write(
        "broken.pem",
        "-----BEGIN CERTIFICATE-----\nTm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    );
    let out = run(&ws, Some(&bad));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    // The agent's certificate is still not trusted: the gate could not judge.
    assert_code(&out, 3);
}
