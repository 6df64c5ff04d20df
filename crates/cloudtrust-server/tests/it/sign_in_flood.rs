//! A flood of sign-ins from one address with random emails, as an attacker spraying
//! passwords sends it: each attempt is counted before its password hash, so most are refused
//! at once (429, or 503 while every core is hashing) and the server keeps answering.

use std::time::{Duration, Instant};

use crate::support::{csrf_of, db_test, web_client};

/// Concurrent attempts in the flood.
const FLOOD: usize = 400;

db_test! {
    async fn a_sign_in_flood_is_refused_before_it_costs_and_health_stays_fast(env) {
        env.seed().await;
        let web = web_client();
        let page = web.get(env.url("/console/signin")).send().await.expect("page").text().await.expect("html");
        let csrf = csrf_of(&page);
        let started = Instant::now();
        let attempts: Vec<_> = (0..FLOOD)
            .map(|i| {
                let request = web.post(env.url("/console/signin")).form(&[
                    ("csrf", csrf.clone()),
                    ("email", format!("nobody-{i}@random.example")),
                    ("password", "a guessed password".to_owned()),
                ]);
                tokio::spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
            })
            .collect();
        let mut slowest = Duration::ZERO;
        for _ in 0..5 {
            let asked = Instant::now();
            let health = env.http.get(env.url("/healthz")).send().await.expect("healthz");
            assert_eq!(health.status(), 200);
            slowest = slowest.max(asked.elapsed());
        }
        let mut refused = 0;
        let mut wrong = 0;
        for attempt in attempts {
            match attempt.await.expect("task").expect("answer") {
                429 | 503 => refused += 1,
                401 => wrong += 1,
                other => panic!("unexpected status {other}"),
            }
        }
        assert!(refused * 4 >= FLOOD * 3, "{refused} of {FLOOD} refused before hashing, {wrong} hashed");
        assert!(wrong <= 60, "no more hashes than the address may fail in a minute: {wrong}");
        // How fast it answers is measured on a release build by `bench/sign-in-flood`; a debug
        // build sharing its cores with the whole suite only shows that it answers at all.
        assert!(slowest < Duration::from_secs(10), "/healthz answered during the flood: {slowest:?}");
        assert!(started.elapsed() < Duration::from_secs(60));
    }
}
