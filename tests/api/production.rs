//! `serve` is safe by default: it refuses the development SMS sender and a random token secret
//! unless told it is development, and names the setting to change. Run as the real binary, as a
//! newcomer or an operator would.

use std::process::Command;

fn serve(envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_jemput"))
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_fresh_clone_is_told_what_to_set() {
    let (code, stderr) = serve(&[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`sms.provider`"), "{stderr}");
    assert!(stderr.contains("JEMPUT__SMS__PROVIDER=twilio"), "{stderr}");
    assert!(stderr.contains("--demo"), "{stderr}");
    assert!(
        stderr.contains("JEMPUT__SERVER__DEVELOPMENT=true"),
        "{stderr}"
    );
}

const TWILIO: [(&str, &str); 5] = [
    ("JEMPUT__SMS__PROVIDER", "twilio"),
    ("JEMPUT__SMS__BASE_URL", "http://127.0.0.1:9"),
    ("JEMPUT__SMS__ACCOUNT_SID", "ACx"),
    ("JEMPUT__SMS__AUTH_TOKEN", "token"),
    ("JEMPUT__SMS__FROM", "JEMPUT"),
];

#[test]
fn a_random_token_secret_is_refused() {
    let (code, stderr) = serve(&TWILIO);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("`auth.jwt_secret`"), "{stderr}");
    assert!(stderr.contains("JEMPUT__AUTH__JWT_SECRET_FILE"), "{stderr}");
}

#[test]
fn secrets_are_read_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing").display().to_string();
    let mut envs = TWILIO.to_vec();
    envs.push(("JEMPUT__AUTH__JWT_SECRET_FILE", &missing));
    let (code, stderr) = serve(&envs);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("auth.jwt_secret_file"), "{stderr}");
    // A secret file that is too short is judged like the secret itself.
    let short = dir.path().join("short");
    std::fs::write(&short, "short\n").unwrap();
    let short = short.display().to_string();
    let mut envs = TWILIO.to_vec();
    envs.push(("JEMPUT__AUTH__JWT_SECRET_FILE", &short));
    let (code, stderr) = serve(&envs);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("`auth.jwt_secret`: must be at least 32 characters"),
        "{stderr}"
    );
}
