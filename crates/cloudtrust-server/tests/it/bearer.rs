//! Presenting bearer tokens to cloudtrust's own APIs (`/cvadapis/me`, `/cvad/manage/me`).

use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::permissions::Access;

use crate::support::{db_test, parameter};

async fn error_of(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    (status, response.json().await.expect("common error body"))
}

db_test! {
    async fn every_authorization_form_is_accepted_and_me_answers_the_daas_shape(env) {
        let seed = env.seed().await;
        let token = env.token(&seed.client_id, &seed.secret).await;
        for form in [
            format!("CwsAuth Bearer={token}"),
            format!("CWSAuth bearer={token}"),
            format!("CwsAuth Bearer=   {token}"),
            format!("Bearer {token}"),
        ] {
            for path in ["/cvadapis/me", "/cvad/manage/me"] {
                let response = env.http.get(env.url(path))
                    .header("authorization", &form)
                    .header("citrix-customerid", "acme")
                    .header("accept", "application/json")
                    .send().await.expect("request");
                assert_eq!(response.status(), 200, "{form} {path}");
                let me: serde_json::Value = response.json().await.expect("json");
                assert_eq!(me["VerifiedEmail"], seed.admin);
                assert_eq!(me["DisplayName"], "Owner");
                assert_eq!(me["IsCspCustomer"], false);
                assert_eq!(me["Customers"][0]["Id"], "acme");
                assert_eq!(me["Customers"][0]["Name"], "Acme");
                assert!(me["Customers"][0]["Sites"][0]["Id"].is_string());
                time::OffsetDateTime::parse(
                    me["ExpiryTime"].as_str().expect("ExpiryTime"),
                    &time::format_description::well_known::Rfc3339,
                ).expect("RFC 3339 expiry");
            }
        }
    }
}

db_test! {
    async fn missing_malformed_and_foreign_tokens_get_the_common_errors(env) {
        let seed = env.seed().await;
        let token = env.token(&seed.client_id, &seed.secret).await;

        let (status, body) = error_of(env.http.get(env.url("/cvadapis/me")).send().await.expect("request")).await;
        assert_eq!(status, 401);
        assert_eq!(body["type"], "https://errors-api.cloud.com/common/authentication");
        assert_eq!(body["detail"], "Missing or invalid authentication details");
        assert_eq!(parameter(&body, "reason"), Some("missing"));

        for bad in ["CwsAuth Bearer=not.a.jwt", "Basic YTpi", "CwsAuth Bearer="] {
            let (status, body) = error_of(env.me(bad).await).await;
            assert_eq!(status, 401, "{bad}");
            assert_eq!(parameter(&body, "reason"), Some("invalid"), "{bad}");
        }

        // Tampered: flip a character of the payload.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let payload = parts[1].clone();
        let flipped = if payload.ends_with('A') { 'B' } else { 'A' };
        parts[1] = format!("{}{flipped}", &payload[..payload.len() - 1]);
        let (status, _) = error_of(env.me(&format!("CwsAuth Bearer={}", parts.join("."))).await).await;
        assert_eq!(status, 401);

        // Another customer in Citrix-CustomerId.
        let response = env.http.get(env.url("/cvadapis/me"))
            .header("authorization", format!("CwsAuth Bearer={token}"))
            .header("citrix-customerid", "someoneelse")
            .send().await.expect("request");
        let (status, body) = error_of(response).await;
        assert_eq!(status, 403);
        assert_eq!(body["type"], "https://errors-api.cloud.com/common/authorization");

        // A client that does not accept JSON.
        let response = env.http.get(env.url("/cvadapis/me"))
            .header("authorization", format!("CwsAuth Bearer={token}"))
            .header("accept", "text/html")
            .send().await.expect("request");
        let (status, body) = error_of(response).await;
        assert_eq!(status, 406);
        assert_eq!(body["type"], "https://errors-api.cloud.com/common/notAcceptable");
    }
}

db_test! {
    async fn tokens_expire(env) {
        let seed = env.seed().await;
        env.clock.stop();
        let token = env.token(&seed.client_id, &seed.secret).await;
        let authorization = format!("CwsAuth Bearer={token}");
        assert_eq!(env.me(&authorization).await.status(), 200);
        env.clock.advance(3599);
        assert_eq!(env.me(&authorization).await.status(), 200);
        env.clock.advance(2);
        let (status, _) = error_of(env.me(&authorization).await).await;
        assert_eq!(status, 401, "an expired token is refused");
    }
}

db_test! {
    async fn reducing_the_owners_access_makes_issued_tokens_stale(env) {
        let seed = env.seed().await;
        let operator = Actor::operator();
        // A second Full administrator, so the owner may be reduced.
        env.directory()
            .add_administrator(&operator, "acme", NewAdministrator::with_email("second@acme.example", None, Access::Full))
            .await
            .expect("second admin");
        let old = format!("CwsAuth Bearer={}", env.token(&seed.client_id, &seed.secret).await);
        assert_eq!(env.me(&old).await.status(), 200);

        env.directory()
            .set_access(&operator, "acme", AdministratorRef::Email(&seed.admin), Access::custom(["API Clients"]).expect("known"), None)
            .await
            .expect("reduce");
        assert_eq!(env.me(&old).await.status(), 401, "a token issued before the reduction is stale");
        let new = format!("CwsAuth Bearer={}", env.token(&seed.client_id, &seed.secret).await);
        assert_eq!(env.me(&new).await.status(), 200, "a new token carries the new generation");

        // Widening access does not invalidate tokens.
        env.directory()
            .set_access(&operator, "acme", AdministratorRef::Email(&seed.admin), Access::Full, None)
            .await
            .expect("widen");
        assert_eq!(env.me(&new).await.status(), 200);
    }
}
