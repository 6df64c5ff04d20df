//! Marks the PostgreSQL halves of the integration tests as ignored when they are built
//! without a PostgreSQL server to run on, so the test output says what did not run. Under
//! `CI=true` they are never ignored: there, a missing server fails them.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(skip_postgres)");
    println!("cargo::rerun-if-env-changed=CLOUDTRUST_TEST_POSTGRES");
    println!("cargo::rerun-if-env-changed=CI");
    let configured = std::env::var_os("CLOUDTRUST_TEST_POSTGRES").is_some_and(|v| !v.is_empty());
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !configured && !ci {
        println!("cargo::rustc-cfg=skip_postgres");
    }
}
