//! `cloudtrust user …`: the end users of a customer, who sign in to its Workspace
//! applications, through the same directory functions as the console.

use anyhow::Result;
use clap::Subcommand;
use cloudtrust_server::app::Foundation;
use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::end_users::{EndUser, NewEndUser};
use serde_json::json;

use crate::cli::read_password;
use crate::output::{Output, print_json, when};

/// The end-user commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an end user; without --password-stdin a password is generated and shown once.
    Add {
        /// Customer id.
        #[arg(long)]
        customer: String,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Given name.
        #[arg(long)]
        given_name: String,
        /// Family name.
        #[arg(long)]
        family_name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List a customer's end users.
    List {
        /// Customer id.
        #[arg(long)]
        customer: String,
    },
    /// Set an end user's password (generated and shown once without --password-stdin).
    SetPassword {
        /// Customer id.
        #[arg(long)]
        customer: String,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove an end user.
    Remove {
        /// Customer id.
        #[arg(long)]
        customer: String,
        /// Email address.
        #[arg(long)]
        email: String,
    },
    /// Withdraw an end user's consent to a Workspace application (to all without --client),
    /// revoking the tokens it gave.
    RevokeConsent {
        /// Customer id.
        #[arg(long)]
        customer: String,
        /// Email address.
        #[arg(long)]
        email: String,
        /// The application's client id.
        #[arg(long)]
        client: Option<String>,
    },
}

/// Runs an end-user command as the operator.
pub async fn run(f: Foundation, command: UserCommand, out: &Output) -> Result<()> {
    let actor = Actor::operator();
    let directory = &f.directory;
    match command {
        UserCommand::Add {
            customer,
            email,
            given_name,
            family_name,
            password_stdin,
        } => {
            let (password, generated) = read_password(password_stdin)?;
            let new = NewEndUser {
                email,
                given_name,
                family_name,
            };
            let user = directory
                .add_end_user(&actor, &customer, &new, &password)
                .await?;
            with_password(out, &user, generated.then_some(password.as_str()), "added")
        }
        UserCommand::List { customer } => {
            let users = directory.list_end_users(&actor, &customer).await?;
            if out.is_json() {
                return print_json(&users);
            }
            println!("{:<36}  {:<20}  {:<32}  NAME", "ID", "ADDED", "EMAIL");
            for u in users {
                println!(
                    "{:<36}  {:<20}  {:<32}  {}",
                    u.id,
                    when(u.created_at),
                    u.email,
                    u.name()
                );
            }
            Ok(())
        }
        UserCommand::SetPassword {
            customer,
            email,
            password_stdin,
        } => {
            let (password, generated) = read_password(password_stdin)?;
            let user = directory
                .set_end_user_password(&actor, &customer, &email, &password)
                .await?;
            with_password(
                out,
                &user,
                generated.then_some(password.as_str()),
                "updated",
            )
        }
        UserCommand::Remove { customer, email } => {
            let user = directory.remove_end_user(&actor, &customer, &email).await?;
            if out.is_json() {
                return print_json(&json!({ "removed": user }));
            }
            println!("Removed user {}.", user.email);
            Ok(())
        }
        UserCommand::RevokeConsent {
            customer,
            email,
            client,
        } => {
            let clients = directory
                .withdraw_end_user_consent(&actor, &customer, &email, client.as_deref())
                .await?;
            if out.is_json() {
                return print_json(&json!({ "withdrawn": clients }));
            }
            println!(
                "Consent of {email} withdrawn from {}; the tokens it gave no longer work.",
                clients.join(", ")
            );
            Ok(())
        }
    }
}

/// The user, and its password when it was generated (shown this once).
fn with_password(out: &Output, user: &EndUser, generated: Option<&str>, done: &str) -> Result<()> {
    if out.is_json() {
        let mut body = json!({ "user": user });
        if let Some(password) = generated {
            body["password"] = json!(password);
        }
        return print_json(&body);
    }
    println!("User {} {done}.", user.email);
    if let Some(password) = generated {
        println!("Password: {password}");
        println!("It is shown only now.");
    }
    Ok(())
}
