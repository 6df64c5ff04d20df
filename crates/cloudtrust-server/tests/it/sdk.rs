//! The client SDK's token source against a real server.

use cloudtrust_client::{ClientError, TokenSource};

use crate::support::db_test;

db_test! {
    async fn the_token_source_caches_and_reports_refusals(env) {
        let seed = env.seed().await;
        let source = TokenSource::new(env.base(), "root", &seed.client_id, &seed.secret);
        let first = source.token().await.expect("token");
        let second = source.token().await.expect("token");
        assert_eq!(first, second, "the token is cached");
        source.invalidate().await;
        let third = source.token().await.expect("token");
        assert_ne!(first, third, "a new token after invalidation");
        let header = source.authorization().await.expect("header");
        assert_eq!(env.me(&header).await.status(), 200);

        let wrong = TokenSource::new(env.base(), "root", &seed.client_id, "wrong");
        match wrong.token().await {
            Err(ClientError::Refused { status, body }) => {
                assert_eq!(status, 400);
                assert_eq!(body.error, "invalid_client");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
