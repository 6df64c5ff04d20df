//! Health, readiness, unknown routes and the transaction id.

use crate::support::db_test;

db_test! {
    async fn health_and_readiness_answer(env) {
        let health = env.http.get(env.url("/healthz")).send().await.expect("request");
        assert_eq!(health.status(), 200);
        let ready: serde_json::Value = env.http.get(env.url("/readyz")).send().await.expect("request")
            .json().await.expect("json");
        assert_eq!(ready["status"], "ready");
        assert!(ready["signing_key"].is_string());
    }
}

db_test! {
    async fn unknown_routes_and_methods_get_the_common_error_shape(env) {
        let missing = env.http.get(env.url("/no/such/thing")).send().await.expect("request");
        assert_eq!(missing.status(), 404);
        let body: serde_json::Value = missing.json().await.expect("json");
        assert_eq!(body["type"], "https://errors-api.cloud.com/common/notFound");
        let wrong_method = env.http.get(env.url("/cctrustoauth2/root/tokens/clients")).send().await.expect("request");
        assert_eq!(wrong_method.status(), 405);
        let body: serde_json::Value = wrong_method.json().await.expect("json");
        assert!(body["type"].as_str().expect("type").starts_with("https://errors-api.cloud.com/common/"));
    }
}

db_test! {
    async fn a_citrix_transaction_id_is_echoed(env) {
        let id = "5f0c3a1e-8d6b-4a55-9d7e-1c2b3a4d5e6f";
        let response = env.http.get(env.url("/healthz"))
            .header("citrix-transactionid", id)
            .send().await.expect("request");
        assert_eq!(response.headers()["citrix-transactionid"], id);
        assert_eq!(response.headers()["x-cws-transactionid"], id);
        let unsafe_id = env.http.get(env.url("/healthz"))
            .header("citrix-transactionid", "<script>")
            .send().await.expect("request");
        assert_ne!(unsafe_id.headers()["x-cws-transactionid"], "<script>");
        assert!(!unsafe_id.headers().contains_key("citrix-transactionid"));
    }
}
