//! Integration tests of the `cloudtrust` binary: real processes, a real SQLite file and a fresh
//! PostgreSQL database (`CLOUDTRUST_TEST_POSTGRES`).

#[path = "../../../cloudtrust-server/tests/common/testdb.rs"]
mod testdb;

#[path = "../../../cloudtrust-server/tests/common/smtp_sink.rs"]
mod smtp_sink;

mod support;

mod backup;
mod cli;
mod config;
mod crash_safety;
mod dev;
mod kek;
mod keys;
mod processes;
mod token;
mod users;
mod workspace;
