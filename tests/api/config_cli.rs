//! `vigil config`, the real binary and the loading path a user runs (defaults, file,
//! environment, validation): `smtps://` is accepted, and no secret is printed.

use std::process::{Command, Stdio};

fn vigil_config(file: Option<&std::path::Path>, env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vigil"));
    command.arg("config");
    if let Some(file) = file {
        command.arg("--config").arg(file);
    }
    command
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run vigil config")
}

#[test]
fn smtps_from_the_environment_is_accepted_and_secrets_are_redacted() {
    let output = vigil_config(
        None,
        &[
            (
                "VIGIL__NOTIFY__SMTP_URL",
                "smtps://alerts:mail-secret@mail.example.com:465",
            ),
            (
                "VIGIL__DATABASE__URL",
                "postgres://vigil:db-secret@127.0.0.1:5432/vigil",
            ),
            ("VIGIL__AUTH__ADMIN_PASSWORD", "admin-secret-password"),
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "vigil config failed: {stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("smtps://alerts:"),
        "the smtps URL is kept: {stdout}"
    );
    assert!(stdout.contains("mail.example.com:465"), "{stdout}");
    for secret in ["mail-secret", "db-secret", "admin-secret-password"] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} was printed: {stdout}\n{stderr}"
        );
    }
    assert!(stdout.contains("redacted"), "{stdout}");
}

#[test]
fn smtps_from_a_config_file_is_accepted_and_a_bad_scheme_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[notify]\nsmtp_url = \"smtps://mail.example.com:465\"\n",
    )
    .unwrap();
    let output = vigil_config(Some(&good), &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[notify]\nsmtp_url = \"https://mail.example.com\"\n").unwrap();
    let output = vigil_config(Some(&bad), &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "an https:// SMTP URL must be refused"
    );
    assert!(
        stderr.contains("notify.smtp_url"),
        "the error names the key: {stderr}"
    );
}
