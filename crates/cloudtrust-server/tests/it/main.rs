//! Integration tests of cloudtrust-server: real HTTP on loopback, against a temporary SQLite
//! file and a fresh PostgreSQL database (`CLOUDTRUST_TEST_POSTGRES`).

#[path = "../common/testdb.rs"]
mod testdb;

#[path = "../common/smtp_sink.rs"]
mod smtp_sink;

mod support;

mod administration;
mod architecture;
mod bearer;
mod bearer_token_status;
mod browser;
mod browser_sign_in;
mod browser_users;
mod browser_workspace;
mod console;
mod console_users;
mod console_workspace;
mod discovery;
mod end_users;
mod go_sdk;
mod key_rotation;
mod logging;
mod mail;
mod metrics;
mod nodes;
mod openapi;
mod ops;
mod password_change;
mod proxies;
mod regions;
mod reminders;
mod rules;
mod sdk;
mod settings;
mod sign_in_flood;
mod slow_clients;
mod smart;
mod stopping;
mod throttling;
mod tls;
mod token_endpoint;
mod trust;
mod workspace_clients;
mod workspace_sign_in;
mod workspace_sign_in_attacks;
