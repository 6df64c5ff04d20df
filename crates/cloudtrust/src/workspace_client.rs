//! `cloudtrust workspace-client …`: a customer's Workspace OAuth clients, through the same
//! directory functions as `/{customer}/rpclients` and the console. `--json` prints the API's
//! shapes.

use anyhow::{Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use cloudtrust_server::app::Foundation;
use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::directory::AdministratorRef;
use cloudtrust_server::domain::workspace_clients::{
    ClientType, NewWorkspaceClient, WorkspaceClient, WorkspaceClientChanges,
};
use cloudtrust_server::http::rpclients::wire;
use serde_json::json;

use crate::output::{Output, print_json, when};

/// Private (with a secret) or public (native applications, PKCE).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TypeArg {
    /// A confidential client: it has a secret.
    Private,
    /// A native application: no secret, PKCE required.
    Public,
}

/// `--customer` and `--name` of one client.
#[derive(Debug, Args)]
pub struct Which {
    /// Customer id.
    #[arg(long)]
    customer: String,
    /// The client's name, e.g. demo-private-1.
    #[arg(long)]
    name: String,
}

/// The Workspace OAuth client commands.
#[derive(Debug, Subcommand)]
pub enum WorkspaceClientCommand {
    /// Create a client; a private client's secret is printed once.
    Create {
        /// Customer id.
        #[arg(long)]
        customer: String,
        /// Email of the owning administrator (it needs the Workspace OAuth Clients permission).
        #[arg(long)]
        admin: String,
        /// The name shown to people.
        #[arg(long)]
        display_name: String,
        /// private or public.
        #[arg(long = "type", value_enum)]
        client_type: TypeArg,
        /// A redirect URI (repeat for several).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// A post-logout redirect URI (repeat for several).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Ask people to consent.
        #[arg(long)]
        require_user_consent: bool,
        /// Allow refresh tokens.
        #[arg(long)]
        allow_offline_access: bool,
        /// Require PKCE of a private client too (public clients always need it).
        #[arg(long)]
        require_pkce: bool,
        /// Who is reminded before the secret expires (default: the owner).
        #[arg(long)]
        owner_contact: Option<String>,
    },
    /// List a customer's clients.
    List {
        /// Customer id.
        #[arg(long)]
        customer: String,
    },
    /// Show one client.
    Show(Which),
    /// Change a client's display name, consent, redirect URIs or owner contact.
    Edit {
        #[command(flatten)]
        which: Which,
        /// The name shown to people.
        #[arg(long)]
        display_name: Option<String>,
        /// Ask people to consent (true or false).
        #[arg(long)]
        require_user_consent: Option<bool>,
        /// The redirect URIs, all of them (repeat for several).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// The post-logout redirect URIs, all of them (repeat for several).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Who is reminded before the secret expires.
        #[arg(long)]
        owner_contact: Option<String>,
    },
    /// Enable a client.
    Enable(Which),
    /// Disable a client: it authenticates nowhere until enabled again.
    Disable(Which),
    /// Rotate a private client's secret; the new one is printed once, the old one keeps
    /// working until its own expiry.
    Rotate(Which),
    /// End the old secret at once.
    ExpireOldSecret(Which),
    /// Delete a client: it stops working at once.
    Delete(Which),
}

/// Runs a Workspace OAuth client command as the operator.
pub async fn run(f: Foundation, command: WorkspaceClientCommand, out: &Output) -> Result<()> {
    let actor = Actor::operator();
    let directory = &f.directory;
    match command {
        WorkspaceClientCommand::Create {
            customer,
            admin,
            display_name,
            client_type,
            redirect_uris,
            post_logout_redirect_uris,
            require_user_consent,
            allow_offline_access,
            require_pkce,
            owner_contact,
        } => {
            let new = NewWorkspaceClient {
                display_name,
                client_type: match client_type {
                    TypeArg::Private => ClientType::Private,
                    TypeArg::Public => ClientType::Public,
                },
                redirect_uris,
                post_logout_redirect_uris,
                require_user_consent,
                require_pkce,
                allow_offline_access,
                owner_contact,
            };
            let created = directory
                .create_workspace_client(&actor, &customer, AdministratorRef::Email(&admin), new)
                .await?;
            created_client(out, created.client, created.secret)
        }
        WorkspaceClientCommand::List { customer } => {
            let clients = directory.list_workspace_clients(&actor, &customer).await?;
            listed(out, clients)
        }
        WorkspaceClientCommand::Show(which) => {
            let client = directory
                .get_workspace_client(&actor, &which.customer, &which.name)
                .await?;
            shown(out, client)
        }
        WorkspaceClientCommand::Edit {
            which,
            display_name,
            require_user_consent,
            redirect_uris,
            post_logout_redirect_uris,
            owner_contact,
        } => {
            let changes = WorkspaceClientChanges {
                display_name,
                require_user_consent,
                redirect_uris: (!redirect_uris.is_empty()).then_some(redirect_uris),
                post_logout_redirect_uris: (!post_logout_redirect_uris.is_empty())
                    .then_some(post_logout_redirect_uris),
                owner_contact,
            };
            if changes == WorkspaceClientChanges::default() {
                bail!(
                    "nothing to change: give --display-name, --require-user-consent, \
                     --redirect-uri, --post-logout-redirect-uri or --owner-contact"
                );
            }
            let client = directory
                .edit_workspace_client(&actor, &which.customer, &which.name, changes)
                .await?;
            shown(out, client)
        }
        WorkspaceClientCommand::Enable(which) => {
            let client = directory
                .set_workspace_client_enabled(&actor, &which.customer, &which.name, true)
                .await?;
            shown(out, client)
        }
        WorkspaceClientCommand::Disable(which) => {
            let client = directory
                .set_workspace_client_enabled(&actor, &which.customer, &which.name, false)
                .await?;
            shown(out, client)
        }
        WorkspaceClientCommand::Rotate(which) => {
            let (client, secret) = directory
                .rotate_workspace_secret(&actor, &which.customer, &which.name)
                .await?;
            rotated(out, client, secret)
        }
        WorkspaceClientCommand::ExpireOldSecret(which) => {
            let client = directory
                .expire_old_workspace_secret(&actor, &which.customer, &which.name)
                .await?;
            if out.is_json() {
                return print_json(&wire(client));
            }
            println!("The old secret of {} no longer works.", client.name);
            Ok(())
        }
        WorkspaceClientCommand::Delete(which) => {
            let client = directory
                .delete_workspace_client(&actor, &which.customer, &which.name)
                .await?;
            if out.is_json() {
                return print_json(&json!({ "deleted": wire(client) }));
            }
            println!(
                "Deleted Workspace OAuth client {} ({}).",
                client.name, client.display_name
            );
            Ok(())
        }
    }
}

/// A secret's expiry, for people.
fn expiry(time: Option<i64>) -> String {
    time.map(when).unwrap_or_else(|| "-".to_owned())
}

fn created_client(out: &Output, client: WorkspaceClient, secret: Option<String>) -> Result<()> {
    if out.is_json() {
        return print_json(&json!({ "client": wire(client), "secret": secret }));
    }
    println!("Workspace OAuth client {} has been created.", client.name);
    println!("Customer ID:   {}", client.customer_id);
    println!("Client ID:     {}", client.client_id);
    if let Some(secret) = secret {
        println!("Client Secret: {secret}");
        println!("The secret is shown only now: keep it somewhere safe.");
    }
    Ok(())
}

fn rotated(out: &Output, client: WorkspaceClient, secret: String) -> Result<()> {
    if out.is_json() {
        return print_json(&json!({ "client": wire(client), "secret": secret }));
    }
    println!("The secret of {} has been rotated.", client.name);
    println!("Client ID:     {}", client.client_id);
    println!("Client Secret: {secret}");
    println!(
        "The secret is shown only now. The old one works until {}.",
        expiry(client.old_secret.map(|s| s.expires_at))
    );
    Ok(())
}

fn listed(out: &Output, clients: Vec<WorkspaceClient>) -> Result<()> {
    if out.is_json() {
        return print_json(&clients.into_iter().map(wire).collect::<Vec<_>>());
    }
    println!(
        "{:<28}  {:<7}  {:<8}  {:<20}  DISPLAY NAME",
        "NAME", "TYPE", "STATUS", "SECRET EXPIRES"
    );
    for c in clients {
        println!(
            "{:<28}  {:<7}  {:<8}  {:<20}  {}",
            c.name,
            c.client_type.as_str(),
            if c.enabled { "Enabled" } else { "Disabled" },
            expiry(c.secret.map(|s| s.expires_at)),
            c.display_name
        );
    }
    Ok(())
}

fn shown(out: &Output, c: WorkspaceClient) -> Result<()> {
    if out.is_json() {
        return print_json(&wire(c));
    }
    println!("Name:                 {}", c.name);
    println!("Display name:         {}", c.display_name);
    println!("Client ID:            {}", c.client_id);
    println!("Type:                 {}", c.client_type.as_str());
    println!(
        "Status:               {}",
        if c.enabled { "Enabled" } else { "Disabled" }
    );
    println!("Redirect URIs:        {}", c.redirect_uris.join(" "));
    println!("Require user consent: {}", c.require_user_consent);
    println!("Refresh tokens:       {}", c.allow_offline_access);
    println!("Require PKCE:         {}", c.require_pkce);
    println!("Owner:                {}", c.owner);
    println!("Owner contact:        {}", c.owner_contact);
    println!(
        "Secret expires:       {}",
        expiry(c.secret.map(|s| s.expires_at))
    );
    println!(
        "Old secret expires:   {}",
        expiry(c.old_secret.map(|s| s.expires_at))
    );
    Ok(())
}
