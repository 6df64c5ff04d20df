//! Behind a load balancer: from a peer in `trusted_proxies`, the client address is the
//! rightmost untrusted hop of `Forwarded` / `X-Forwarded-For`, so one client's wrong secrets
//! throttle that client only, and the system log names the address. From anyone else the
//! headers are ignored: a client cannot pick the address it is counted under.

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::paging::PageRequest;

use crate::support::{Env, db_test, eventually};

async fn wrong_secret(env: &Env, client_id: &str, forwarded: (&str, &str)) -> u16 {
    env.http
        .post(env.url("/cctrustoauth2/root/tokens/clients"))
        .header(forwarded.0, forwarded.1)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .expect("token request")
        .status()
        .as_u16()
}

db_test! {
    async fn clients_behind_a_trusted_proxy_are_counted_by_their_own_address(env: crate::proxies::BehindProxy) {
        let env = env.0;
        env.clock.stop();
        let seed = env.seed().await;
        let id = seed.client_id.as_str();
        for _ in 0..10 {
            assert_eq!(wrong_secret(&env, id, ("X-Forwarded-For", "203.0.113.7, 127.0.0.1")).await, 400);
        }
        assert_eq!(wrong_secret(&env, id, ("X-Forwarded-For", "198.51.100.1, 203.0.113.7")).await, 429, "the rightmost untrusted hop; what the client wrote left of it is ignored");
        assert_eq!(wrong_secret(&env, id, ("Forwarded", "for=203.0.113.8;proto=https")).await, 400, "another client behind the same proxy is not locked out");
        let good = env.request_token("root", id, &seed.secret).await;
        assert_eq!(good.status(), 200, "nor is the real client");

        let logged = eventually(std::time::Duration::from_secs(5), || async {
            let page = PageRequest { continuation: None, limit: 100 };
            let (log, _) = env.directory().read_system_log(&Actor::operator(), "acme", (0, i64::MAX), &page).await.expect("log");
            log.items.iter().any(|e| e.event_type == "platform/secureclient/signin/failed" && e.message.contains("from 203.0.113.8"))
        })
        .await;
        assert!(logged, "the system log names the client's address");
    }
}

db_test! {
    async fn forwarded_headers_from_anyone_else_are_ignored(env) {
        env.clock.stop();
        let seed = env.seed().await;
        for i in 0..10 {
            let spoofed = format!("203.0.113.{i}");
            assert_eq!(wrong_secret(&env, &seed.client_id, ("X-Forwarded-For", &spoofed)).await, 400);
        }
        assert_eq!(wrong_secret(&env, &seed.client_id, ("X-Forwarded-For", "203.0.113.99")).await, 429, "counted under the TCP peer");
    }
}

/// A server behind a load balancer on 127.0.0.1.
pub struct BehindProxy(pub Env);

impl crate::testdb::Fixture for BehindProxy {
    async fn start(backend: crate::support::Backend) -> Option<Self> {
        Env::with(backend, |config| {
            config.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
            config.usage_flush_millis = 20;
        })
        .await
        .map(BehindProxy)
    }
}
