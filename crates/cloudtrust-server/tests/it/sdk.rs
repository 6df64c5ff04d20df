//! The client SDK against a real server: its token source, and its verifier given the
//! Workspace access tokens of a real sign-in.

use cloudtrust_client::verify::{Verifier, VerifyError};
use cloudtrust_client::{ClientError, TokenSource};
use openidconnect::core::CoreAuthenticationFlow;
use openidconnect::{
    AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, Scope,
};

use crate::support::{db_test, web_client};
use crate::workspace_sign_in::{apps, library_http, oidc_client, query_value, through_sign_in};

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

db_test! {
    async fn the_verifier_accepts_workspace_access_tokens_for_their_issuer_only(env) {
        let apps = apps(&env).await;
        let client = oidc_client(&env, &apps.public_id, None).await;
        let (challenge, pkce) = PkceCodeChallenge::new_random_sha256();
        let (url, _, _) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("wsp".into()))
            .set_pkce_challenge(challenge)
            .url();
        let back = through_sign_in(&env, &web_client(), url.as_str()).await;
        let code = query_value(&back, "code").expect("a code");
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .expect("token endpoint")
            .set_pkce_verifier(pkce)
            .request_async(&library_http())
            .await
            .expect("the code is exchanged");
        let access = tokens.access_token().secret();

        let workspace = Verifier::for_workspace(env.base()).build();
        let claims = workspace.verify(access).await.expect("a Workspace token passes");
        assert_eq!(claims.iss, env.url("/core"));
        assert_eq!(claims.client_id.as_deref(), Some(apps.public_id.as_str()));
        assert_eq!(claims.customer.as_deref(), Some("acme"));
        assert!(claims.has_scope("wsp") && claims.has_scope("openid"), "{:?}", claims.scope);
        let api_clients = Verifier::for_api_clients(env.base()).build();
        assert_eq!(api_clients.verify(access).await, Err(VerifyError::WrongIssuer));
        let api_token = env.token(&apps.seed.client_id, &apps.seed.secret).await;
        assert_eq!(workspace.verify(&api_token).await, Err(VerifyError::WrongIssuer));

        // As Citrix's Workspace APIs: the token's own client in `Citrix-ApplicationId`.
        let strict = Verifier::for_workspace(env.base()).require_application_id(true).build();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {access}").parse().expect("header"));
        let refused = strict.verify_request(&headers, None).await.expect_err("no application id");
        assert_eq!((refused.status(), refused.body().name()), (400, "missing"));
        headers.insert("citrix-applicationid", apps.private_id.parse().expect("header"));
        let refused = strict.verify_request(&headers, None).await.expect_err("another application");
        assert_eq!((refused.status(), refused.body().parameter("entityType")), (403, Some("application")));
        headers.insert("citrix-applicationid", apps.public_id.parse().expect("header"));
        let claims = strict.verify_request(&headers, None).await.expect("its own application");
        assert_eq!(claims.sub, workspace.verify(access).await.expect("claims").sub);
    }
}
