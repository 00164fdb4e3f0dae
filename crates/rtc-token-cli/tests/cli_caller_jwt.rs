//! Caller JWTs (the app's own user tokens) through the built binary: `rtc-token inspect` recognises
//! them (issuer, audience, subject, expiry; signature checked with `--secret`, or with the
//! development key for `dev-jwt` tokens; the service's own verdict from `caller_auth`), and
//! `dev-jwt --help` agrees with the README, including that its `roles` claim reaches the policy.

mod cli_support;
mod serve_support;

use cli_support::{run, run_with, Out};
use serde_json::{json, Value};
use serve_support::{post_json, Server};

fn repo_file(path: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The caller JWT the events carry, and the key, issuer and audience of `events/events.env`.
struct EventsCaller {
    jwt: String,
    secret: String,
    issuer: String,
    audience: String,
}

fn events_caller() -> EventsCaller {
    let readme = repo_file("events/README.md");
    let jwt = readme
        .lines()
        .find(|l| l.starts_with("eyJ") && l.matches('.').count() == 2)
        .expect("the caller JWT in events/README.md")
        .to_owned();
    let env = repo_file("events/events.env");
    let var = |k: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("{k} in events.env"))
            .to_owned()
    };
    EventsCaller {
        jwt,
        secret: var("AUTH_HS256_SECRET"),
        issuer: var("AUTH_ISSUER"),
        audience: var("AUTH_AUDIENCE"),
    }
}

fn inspect(args: &[&str]) -> Out {
    let mut v = vec!["inspect"];
    v.extend_from_slice(args);
    run(&v)
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

fn hs(alg: jsonwebtoken::Algorithm, claims: Value, secret: &str) -> String {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[test]
fn the_events_caller_jwt_is_a_caller_token_checked_with_its_secret() {
    let c = events_caller();
    let out = inspect(&[
        &c.jwt,
        "--secret",
        &c.secret,
        "--issuer",
        &c.issuer,
        "--audience",
        &c.audience,
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let j = out.json();
    assert_eq!(j["kind"], "caller", "not guessed as LiveKit: {j}");
    assert_eq!(j["valid"], true);
    assert_eq!(j["verdict"], "valid");
    assert_eq!(j["signature"], "valid");
    assert_eq!(j["issuer"], c.issuer.as_str());
    assert_eq!(j["audience"], c.audience.as_str());
    assert_eq!(j["subject"], "alice");
    assert_eq!(j["expires_at"]["utc"], "2100-01-01T00:00:00Z");
    assert_eq!(j["issued_at"]["utc"], "2026-01-01T00:00:00Z");
    assert_eq!(j["expired"], false);
    assert_eq!(j["service_rules"]["accepted"], true, "{j}");
    assert_eq!(j["service_rules"]["caller"], "alice");
    let hints = strs(&j["hints"]).join("\n");
    assert!(!hints.contains("roomJoin"), "no LiveKit hint: {hints}");
    assert!(strs(&j["problems"]).is_empty());

    // Without a key: decoded, signature not checked, and a hint that the service needs AUTH_AUDIENCE.
    let out = inspect(&[&c.jwt]);
    assert_eq!(out.code, 0, "{out:?}");
    let j = out.json();
    assert_eq!(j["kind"], "caller");
    assert_eq!(j["signature"], "not checked");
    assert!(j.get("service_rules").is_none());
    assert!(
        strs(&j["hints"])
            .iter()
            .any(|h| h.contains("AUTH_AUDIENCE")),
        "{j}"
    );

    // A wrong key: invalid signature, exit 1, and the service refuses it too.
    let out = inspect(&[&c.jwt, "--secret", "another-key-another-key-another-key"]);
    assert_eq!(out.code, 1, "{out:?}");
    let j = out.json();
    assert_eq!(j["signature"], "invalid");
    assert_eq!(j["verdict"], "invalid signature");
    assert_eq!(j["service_rules"]["accepted"], false);

    // The service configured for another issuer and audience (the old README's `smoke-test`).
    let out = inspect(&[
        &c.jwt,
        "--secret",
        &c.secret,
        "--issuer",
        "smoke-test",
        "--audience",
        "rtc-tokens",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    let j = out.json();
    assert_eq!(j["signature"], "valid");
    let problems = strs(&j["problems"]);
    assert!(
        problems[0].starts_with("issuer mismatch: iss is \"https://events.rtc-tokens.test\""),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("audience mismatch")),
        "{problems:?}"
    );
    assert_eq!(j["verdict"], problems[0].as_str());
    assert_eq!(j["service_rules"]["accepted"], false);
    assert!(j["service_rules"]["error"]
        .as_str()
        .unwrap()
        .starts_with("bad_issuer"));

    // Judged after its expiry: expired (no leeway here), while the service's 30 s leeway still
    // accepts it one second later.
    let out = inspect(&[&c.jwt, "--secret", &c.secret, "--at", "4102444801"]);
    assert_eq!(out.code, 1);
    let j = out.json();
    assert_eq!(j["expired"], true);
    assert_eq!(j["verdict"], "expired at 2100-01-01T00:00:00Z");
    assert_eq!(j["service_rules"]["accepted"], true);
    let out = inspect(&[&c.jwt, "--secret", &c.secret, "--at", "4102444830"]);
    assert_eq!(out.json()["service_rules"]["accepted"], false);
}

#[test]
fn development_tokens_are_checked_with_the_development_key() {
    let jwt = run(&[
        "dev-jwt",
        "--sub",
        "alice",
        "--claims",
        r#"{"roles":["guide"]}"#,
    ]);
    assert_eq!(jwt.code, 0, "{jwt:?}");
    let jwt = jwt.stdout.trim().to_owned();
    let out = inspect(&[&jwt]);
    assert_eq!(out.code, 0, "{out:?}");
    let j = out.json();
    assert_eq!(j["kind"], "caller");
    assert_eq!(j["signature"], "valid", "the development key: {j}");
    assert_eq!(j["issuer"], "rtc-token-dev");
    assert_eq!(j["audience"], "rtc-tokens-local");
    assert_eq!(j["subject"], "alice");
    assert_eq!(j["claims"]["roles"], json!(["guide"]));
    assert_eq!(j["service_rules"]["accepted"], true);
    let exp = j["expires_at"]["unix"].as_u64().unwrap();
    let iat = j["issued_at"]["unix"].as_u64().unwrap();
    assert_eq!(exp - iat, 3600, "the default --ttl");
    assert!(strs(&j["hints"]).iter().any(|h| h.contains("development")));

    // An altered payload (another subject, same signature) is caught.
    let parts: Vec<&str> = jwt.split('.').collect();
    let forged_payload = {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
        claims["sub"] = json!("mallory");
        engine.encode(claims.to_string())
    };
    let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    let out = inspect(&[&forged]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.json()["signature"], "invalid");
    assert_eq!(out.json()["subject"], "mallory");

    // Expired development token: the plain check and the service agree.
    let old = run(&[
        "dev-jwt",
        "--sub",
        "bob",
        "--claims",
        r#"{"exp":1000,"iat":900}"#,
    ]);
    let out = inspect(&[old.stdout.trim()]);
    assert_eq!(out.code, 1);
    let j = out.json();
    assert_eq!(j["verdict"], "expired at 1970-01-01T00:16:40Z");
    assert_eq!(j["service_rules"]["accepted"], false);
}

#[test]
fn caller_tokens_missing_what_the_service_requires() {
    let key = "a-shared-key-of-at-least-32-bytes!!";
    // No sub, no exp.
    let t = hs(
        jsonwebtoken::Algorithm::HS256,
        json!({"iss": "https://app.example", "aud": "rtc"}),
        key,
    );
    let out = inspect(&[&t, "--secret", key, "--audience", "rtc"]);
    assert_eq!(out.code, 1, "{out:?}");
    let j = out.json();
    assert_eq!(j["kind"], "caller");
    let problems = strs(&j["problems"]);
    assert!(
        problems.iter().any(|p| p.starts_with("no subject")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("no exp")),
        "{problems:?}"
    );
    assert_eq!(j["service_rules"]["accepted"], false);

    // HS384 (AUTH_HS_ALGORITHM=HS384) is checked with its own algorithm.
    let t = hs(
        jsonwebtoken::Algorithm::HS384,
        json!({"iss": "https://app.example", "sub": "u1", "exp": 4_000_000_000u64}),
        key,
    );
    let out = inspect(&[&t, "--secret", key]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["signature"], "valid");
    assert!(out.json()["service_rules"]["verifier"]
        .as_str()
        .unwrap()
        .contains("HS384"));

    // A JWKS-signed token (Clerk, Supabase, Auth0 ...): decoded, named, not checkable with a key.
    use base64::Engine as _;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let rs = format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(json!({"alg": "RS256", "kid": "ins_2abc", "typ": "JWT"})),
        b64(
            json!({"iss": "https://clerk.your-app.com", "sub": "user_2abc", "exp": 4_000_000_000u64, "azp": "https://your-app.com"})
        )
    );
    let out = inspect(&[&rs]);
    assert_eq!(out.code, 0, "{out:?}");
    let j = out.json();
    assert_eq!(j["kind"], "caller");
    assert_eq!(j["signature"], "not checked");
    let hints = strs(&j["hints"]).join("\n");
    assert!(hints.contains("JWKS"), "{hints}");
    assert!(hints.contains("AUTH_PROVIDER=clerk"), "{hints}");
    let out = inspect(&[&rs, "--secret", key]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(strs(&out.json()["problems"])[0].contains("cannot check an RS256 token"));

    // alg none is refused.
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none"})),
        b64(json!({"iss": "x", "sub": "u", "exp": 4_000_000_000u64}))
    );
    let out = inspect(&[&none]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(strs(&out.json()["problems"])[0].contains("unsigned"));
}

#[test]
fn an_issuer_and_subject_without_a_grant_is_a_caller_unless_livekit_is_asked_for() {
    let secret = "a-livekit-secret-a-livekit-secret-32";
    let t = hs(
        jsonwebtoken::Algorithm::HS256,
        json!({"iss": "APIkey", "sub": "alice", "exp": 4_000_000_000u64}),
        secret,
    );
    let j = inspect(&[&t]).json();
    assert_eq!(j["kind"], "caller");
    assert!(
        strs(&j["hints"]).iter().any(|h| h.contains("--api-key")),
        "{j}"
    );
    // With --api-key the user says it is LiveKit: the grant hint of the LiveKit report.
    let out = inspect(&[&t, "--secret", secret, "--api-key", "APIkey"]);
    let j = out.json();
    assert_eq!(j["kind"], "livekit");
    assert!(strs(&j["hints"])
        .iter()
        .any(|h| h.contains("no video.roomJoin grant")));
}

#[test]
fn dev_jwt_help_and_the_readme_agree() {
    let help = run(&["dev-jwt", "--help"]);
    assert_eq!(help.code, 0);
    let help = help.stdout;
    let readme = repo_file("README.md");
    // Every flag the README gives `dev-jwt` exists, and the README's claims example is the help's.
    let mut flags = Vec::new();
    for line in readme.lines().filter(|l| l.contains("dev-jwt")) {
        let after = &line[line.find("dev-jwt").unwrap()..];
        for word in after.split(|c: char| c.is_whitespace() || c == '`' || c == ')') {
            if word.starts_with("--") && word.len() > 2 {
                flags.push(word.trim_end_matches(['.', ',']).to_owned());
            }
        }
    }
    assert!(flags.contains(&"--sub".to_owned()), "{flags:?}");
    assert!(flags.contains(&"--claims".to_owned()), "{flags:?}");
    for f in &flags {
        assert!(
            help.contains(&format!("{f} ")),
            "README flag {f} is not in dev-jwt --help:\n{help}"
        );
    }
    let example = r#"--claims '{"roles":["guide"]}'"#;
    assert!(readme.contains(example), "README lacks {example}");
    assert!(help.contains(r#"'{"roles":["guide"]}'"#), "{help}");
    assert!(help.contains("[default: 3600]"), "{help}");
    assert!(readme.contains("`--ttl SECONDS` (default 3600)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roles_claim_of_dev_jwt_reaches_the_policy() {
    // The README's tour-guide policy: guides publish the microphone, everyone else listens.
    let policy = r#"{"role_map":[{"caller_role":"guide","role":"guide"}],"default_role":"listener",
      "rooms":[{"pattern":"tour-*","roles":["guide"],"caller_roles":["guide"]},
               {"pattern":"tour-*","roles":["listener"],"max_ttl":1800}],
      "livekit":{"profiles":{"guide":{"can_publish":true,"can_publish_sources":["microphone"],"can_subscribe":true},
                             "listener":{"can_subscribe":true}}}}"#;
    let server = Server::start(&[("POLICY_JSON", policy)]);
    let url = server.url("/livekit/token");
    let guide = video_grant(
        &url,
        run(&[
            "dev-jwt",
            "--sub",
            "gina",
            "--claims",
            r#"{"roles":["guide"]}"#,
        ]),
    )
    .await;
    assert_eq!(guide["canPublish"], true, "{guide}");
    assert_eq!(guide["canPublishSources"], json!(["microphone"]));
    let listener = video_grant(&url, run(&["dev-jwt", "--sub", "lea"])).await;
    assert_eq!(listener["canPublish"], false, "{listener}");
    assert_eq!(listener["canSubscribe"], true);
}

/// POSTs a LiveKit request for `tour-7` with the caller JWT `dev-jwt` printed; the token's grant.
async fn video_grant(url: &str, dev_jwt: Out) -> Value {
    assert_eq!(dev_jwt.code, 0, "{dev_jwt:?}");
    let a = post_json(url, dev_jwt.stdout.trim(), json!({"room_name": "tour-7"})).await;
    assert_eq!(a.status, 201, "{}", a.json);
    let token = a.json["participant_token"].as_str().unwrap();
    run_with(&["inspect", token], &[], None).json()["claims"]["video"].clone()
}
