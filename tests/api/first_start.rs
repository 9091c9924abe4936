//! The real binary on a fresh database: the first start creates the admin and, with
//! no password configured, logs a generated one exactly once; `vigil user add` adds
//! users from the shell.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

fn vigil(isolation: &Isolation, extra: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vigil"));
    command
        .envs(isolation.env())
        .envs(extra.iter().copied())
        .env("RUST_LOG", "info,sqlx=warn,lapin=warn")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

/// Runs `vigil serve` until its log shows it listening, then stops it; returns the log.
async fn serve_once(isolation: &Isolation, port: u16) -> String {
    let log = tempfile::NamedTempFile::new().unwrap();
    let addr = format!("127.0.0.1:{port}");
    let mut child = vigil(
        isolation,
        &[
            ("VIGIL__HTTP__ADDR", &addr),
            ("VIGIL__AUTH__ADMIN_EMAIL", "root@x.test"),
        ],
    )
    .arg("serve")
    .stdout(log.reopen().unwrap())
    .stderr(log.reopen().unwrap())
    .spawn()
    .expect("start vigil serve");
    let read = || std::fs::read_to_string(log.path()).unwrap_or_default();
    let listening = eventually(Duration::from_secs(60), || async {
        if read().contains("Vigil is listening") {
            Ok(())
        } else {
            Err(format!(
                "expected the server to start; log so far:\n{}",
                read()
            ))
        }
    });
    listening.await;
    let _ = Command::new("sh")
        .args(["-c", "kill -TERM \"$0\"", &child.id().to_string()])
        .status();
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    read()
}

#[actix_rt::test]
async fn the_first_start_logs_a_generated_admin_password_once() {
    let isolation = Isolation::new();
    let mut guard = CleanupGuard::new(&isolation);
    let port = free_port();
    let first = serve_once(&isolation, port).await;
    let line = first
        .lines()
        .find(|l| l.contains("Created the first admin with a generated password"))
        .unwrap_or_else(|| panic!("no generated-password line in the log:\n{first}"));
    let password = line
        .split("password=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no password= field in {line:?}"))
        .to_string();
    assert!(
        password.len() >= 16,
        "a strong generated password: {password:?}"
    );
    let second = serve_once(&isolation, port).await;
    assert!(
        !second.contains("Created the first admin"),
        "the admin is created once, not at every start:\n{second}"
    );

    // The logged password works, through an in-process app on the same database.
    let db = sqlx::PgPool::connect(&format!("{PG_SERVER}/{}", isolation.database))
        .await
        .unwrap();
    let hash: String = sqlx::query_scalar(
        "SELECT password_hash FROM users WHERE email = 'root@x.test' AND role = 'admin'",
    )
    .fetch_one(&db)
    .await
    .expect("the first admin exists");
    assert!(hash.starts_with("$argon2id$"), "argon2id: {hash}");
    assert!(!hash.contains(&password));
    db.close().await;

    // `vigil user add`, then both accounts log in through the real server.
    let added = vigil(&isolation, &[("VIGIL_USER_PASSWORD", "editor-password")])
        .args(["user", "add", "--email", "ed@x.test", "--role", "editor"])
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "user add: {}",
        String::from_utf8_lossy(&added.stderr)
    );
    let again = vigil(&isolation, &[])
        .args([
            "user",
            "add",
            "--email",
            "ED@x.test",
            "--password",
            "another-password",
        ])
        .output()
        .unwrap();
    assert!(!again.status.success(), "a duplicate email is refused");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    let log = tempfile::NamedTempFile::new().unwrap();
    let addr = format!("127.0.0.1:{port}");
    let mut child = vigil(&isolation, &[("VIGIL__HTTP__ADDR", &addr)])
        .arg("serve")
        .stdout(log.reopen().unwrap())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    let client = http_client();
    let base = format!("http://{addr}");
    for (email, password, role) in [
        ("root@x.test", password.as_str(), "admin"),
        ("ed@x.test", "editor-password", "editor"),
    ] {
        let body = json!({"email": email, "password": password});
        let response =
            eventually_response(&client, &format!("{base}/api/v1/auth/login"), &body).await;
        assert_eq!(response.0, 200, "login as {email}: {}", response.1);
        assert_eq!(response.1["data"]["role"], role);
    }
    let _ = child.kill();
    let _ = child.wait();
    isolation.remove_all().await;
    guard.disarm();
}

/// POSTs until the server answers (it may still be starting).
async fn eventually_response(
    client: &awc::Client,
    url: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    eventually(Duration::from_secs(60), || async {
        match client.post(url).send_json(body).await {
            Ok(mut response) => {
                let bytes = response.body().await.unwrap_or_default();
                Ok((
                    response.status().as_u16(),
                    serde_json::from_slice(&bytes).unwrap_or_default(),
                ))
            }
            Err(e) => Err(format!("expected an answer from {url}; got {e}")),
        }
    })
    .await
}
