//! What reaches the logs: the transaction id on every line of a request, never a secret.

use crate::support::{db_test, logs};

db_test! {
    async fn request_logs_carry_the_transaction_id_and_no_secret(env) {
        let seed = env.seed().await;
        let txid = uuid::Uuid::new_v4().to_string();
        let response = env.http.post(env.url("/cctrustoauth2/root/tokens/clients"))
            .header("citrix-transactionid", &txid)
            .form(&[("grant_type", "client_credentials"), ("client_id", seed.client_id.as_str()), ("client_secret", "guess-that-must-not-be-logged")])
            .send().await.expect("request");
        assert_eq!(response.status(), 400);
        let token = env.token(&seed.client_id, &seed.secret).await;
        let logs = logs();
        let refusal: Vec<&str> = logs.lines().filter(|l| l.contains(&txid)).collect();
        assert!(refusal.iter().any(|l| l.contains("wrong secret")), "the refusal is logged with its transaction id");
        let context = format!("request{{txid={txid} method=POST path=/cctrustoauth2/root/tokens/clients client=127.0.0.1}}");
        assert!(refusal.iter().all(|l| l.contains(&context)), "each line has the request's context: {refusal:?}");
        assert!(!logs.contains(&seed.secret), "a client secret reached the log");
        assert!(!logs.contains("guess-that-must-not-be-logged"), "a presented secret reached the log");
        assert!(!logs.contains(&token), "a bearer token reached the log");
    }
}
