//! Command-line definition and dispatch.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use cloudtrust_server::app::Foundation;
use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::customers::Region;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::passwords;
use cloudtrust_server::domain::permissions::{Access, CATALOGUE};
use cloudtrust_server::links::invitation_link;
use cloudtrust_server::logging::{RequestSpanFields, RequestSpans};
use cloudtrust_server::notify::{Delivery, Notifier};
use cloudtrust_server::store::Store;
use cloudtrust_server::{Config, RunningServer, SystemClock};
use serde::Serialize;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::backup::{self, ExportArgs, ImportArgs};
use crate::dev;
use crate::kek::{self, KekCommand};
use crate::keys::{self, KeysCommand};
use crate::output::Output;
use crate::token::{self, TokenArgs};
use crate::user::{self, UserCommand};
use crate::workspace_client::{self, WorkspaceClientCommand};

/// cloudtrust: self-hosted identity and API access in the Citrix Cloud model.
#[derive(Debug, Parser)]
#[command(name = "cloudtrust", version, about)]
pub struct Cli {
    /// Folder of the default SQLite database (cloudtrust.db) and generated key material.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://FILE or postgres://… (overrides the data dir's SQLite file).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Configuration file (TOML); CLOUDTRUST_* environment variables override it.
    #[arg(long, global = true, value_name = "FILE", env = "CLOUDTRUST_CONFIG")]
    config: Option<PathBuf>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage customers.
    #[command(subcommand)]
    Customer(CustomerCommand),
    /// Manage administrators.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage API clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage administrators' Smart Tools API keys.
    #[command(subcommand)]
    SmartKey(SmartKeyCommand),
    /// Manage Workspace OAuth clients.
    #[command(subcommand)]
    WorkspaceClient(WorkspaceClientCommand),
    /// Manage the end users who sign in to Workspace applications.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the keys that sign tokens.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the key-encryption key that seals the signing keys at rest.
    #[command(subcommand)]
    Kek(KekCommand),
    /// Write the whole deployment as one JSON document (secrets only as hashes, signing keys
    /// sealed with the key-encryption key), read in one snapshot: a backup, or the way to
    /// another database.
    Export(ExportArgs),
    /// Load a document from `export` into an empty database, in one transaction. Needs the
    /// key-encryption key the exporting deployment used.
    Import(ImportArgs),
    /// Print a bearer token for the API client in CLIENT_ID, CLIENT_SECRET and CUSTOMER_ID,
    /// from cloudtrust (--base-url, CLOUDTRUST_URL) or Citrix Cloud (--region); cached until
    /// near its expiry.
    Token(TokenArgs),
}

#[derive(Debug, Subcommand)]
enum SmartKeyCommand {
    /// Create a Smart Tools API key; its secret is printed once.
    Create {
        /// Customer id.
        #[arg(long)]
        customer: String,
        /// Email of the administrator.
        #[arg(long)]
        admin: String,
    },
    /// List an administrator's Smart Tools API keys.
    List {
        /// Customer id.
        #[arg(long)]
        customer: String,
        /// Email of the administrator.
        #[arg(long)]
        admin: String,
    },
    /// Delete a Smart Tools API key; tokens made with it stop working.
    Delete {
        /// Customer id.
        #[arg(long)]
        customer: String,
        /// The API key.
        #[arg(long)]
        key: String,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Serve HTTPS only: no plain-HTTP listener (needs --tls-cert and --tls-key, or
    /// --tls-dev).
    #[arg(long)]
    no_plain_http: bool,
    /// Public base URL, when behind a proxy (default: http://<listen address>).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Development mode: create a demo customer, administrator and API client and print how
    /// to get a first token.
    #[arg(long)]
    dev: bool,
    /// Serve HTTPS too, with a development CA and a certificate for every Citrix Cloud host
    /// (made once, in the data dir).
    #[arg(long)]
    tls_dev: bool,
    /// Address for HTTPS (default 127.0.0.1:8443).
    #[arg(long, value_name = "ADDR")]
    tls_listen: Option<SocketAddr>,
    /// Serve `/metrics` on this address only (plain HTTP), not on the main listeners.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// Certificate chain (PEM) for HTTPS.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) for HTTPS.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum CustomerCommand {
    /// Create a customer.
    Create {
        /// Customer id (lowercase letters and digits); generated when omitted.
        #[arg(long)]
        id: Option<String>,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Home region: us, eu, ap-s or jp.
        #[arg(long, default_value = "us")]
        region: String,
    },
    /// List customers.
    List,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct AccessArgs {
    /// Full access.
    #[arg(long)]
    full: bool,
    /// A permission of custom access (repeatable), e.g. --permission "API Clients".
    #[arg(long = "permission", value_name = "NAME")]
    permissions: Vec<String>,
}

impl AccessArgs {
    fn access(&self) -> Result<Access> {
        if self.full {
            Ok(Access::Full)
        } else {
            Ok(Access::custom(&self.permissions)?)
        }
    }
}

#[derive(Debug, Args)]
struct NewAdminArgs {
    /// Customer id.
    #[arg(long)]
    customer: String,
    /// Email address.
    #[arg(long)]
    email: String,
    /// Display name (default: the email).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    access: AccessArgs,
}

impl NewAdminArgs {
    fn new_administrator(&self) -> Result<NewAdministrator> {
        Ok(NewAdministrator::with_email(
            &self.email,
            self.name.as_deref(),
            self.access.access()?,
        ))
    }
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Add an administrator to a customer.
    Add(NewAdminArgs),
    /// Invite an administrator: pending until the printed link is accepted.
    Invite(NewAdminArgs),
    /// Set an administrator's password: read from standard input with --password-stdin, else
    /// generated and printed once.
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
    /// Replace an administrator's access.
    SetAccess {
        /// Customer id.
        #[arg(long)]
        customer: String,
        /// Email address.
        #[arg(long)]
        email: String,
        #[command(flatten)]
        access: AccessArgs,
    },
    /// Remove an administrator and all its API clients.
    Remove {
        /// Customer id.
        #[arg(long)]
        customer: String,
        /// Email address.
        #[arg(long)]
        email: String,
    },
    /// List a customer's administrators.
    List {
        /// Customer id.
        #[arg(long)]
        customer: String,
    },
    /// List the permissions custom access can be made of.
    Permissions,
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Create an API client; its secret is printed once.
    Create {
        /// Customer id.
        #[arg(long)]
        customer: String,
        /// Email of the owning administrator.
        #[arg(long)]
        admin: String,
        /// Name of the client.
        #[arg(long)]
        name: String,
    },
    /// List a customer's API clients (of one administrator with --admin).
    List {
        /// Customer id.
        #[arg(long)]
        customer: String,
        /// Only the clients of this administrator.
        #[arg(long)]
        admin: Option<String>,
    },
    /// Delete an API client; its tokens stop working at once.
    Delete {
        /// Customer id.
        #[arg(long)]
        customer: String,
        /// Client id.
        #[arg(long)]
        id: String,
    },
}

/// Command-line values that override configuration; unset ones leave it alone.
#[derive(Debug, Default, Serialize)]
struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plain_http: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_dev: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_key: Option<PathBuf>,
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<()> {
    let mut overrides = Overrides {
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
        ..Overrides::default()
    };
    if let Command::Serve(args) = &cli.command {
        overrides.listen = args.listen;
        overrides.plain_http = args.no_plain_http.then_some(false);
        overrides.public_url = args.public_url.clone();
        overrides.tls_dev = args.tls_dev.then_some(true);
        overrides.tls_listen = args.tls_listen;
        overrides.metrics_listen = args.metrics_listen;
        overrides.tls_cert = args.tls_cert.clone();
        overrides.tls_key = args.tls_key.clone();
    }
    let config = Config::load(cli.config.as_deref(), &overrides).context("configuration")?;
    let out = Output::new(cli.json);
    match cli.command {
        Command::Serve(args) => serve(config, args.dev).await,
        Command::Migrate => {
            init_tracing("warn");
            let store = Store::connect(&config.database_url()).await?;
            store.migrate().await?;
            store.close().await;
            out.done("migrations applied")
        }
        Command::Customer(command) => customer(open(config).await?, command, &out).await,
        Command::Admin(command) => admin(open(config).await?, command, &out).await,
        Command::Client(command) => client(open(config).await?, command, &out).await,
        Command::SmartKey(command) => smart_key(open(config).await?, command, &out).await,
        Command::WorkspaceClient(command) => {
            workspace_client::run(open(config).await?, command, &out).await
        }
        Command::User(command) => user::run(open(config).await?, command, &out).await,
        Command::Keys(command) => keys::run(open(config).await?, command, &out).await,
        Command::Kek(command) => kek::run(config, command, &out).await,
        Command::Token(args) => token::run(args, &out).await,
        Command::Export(args) => {
            init_tracing("warn");
            backup::export(config, args, &out).await
        }
        Command::Import(args) => {
            init_tracing("warn");
            backup::import(config, args, &out).await
        }
    }
}

/// Opens the database for a command, checking the key-encryption key.
pub(crate) async fn open(config: Config) -> Result<Foundation> {
    init_tracing("warn");
    Ok(Foundation::open(config, Arc::new(SystemClock)).await?)
}

fn init_tracing(default: &str) {
    let directives = std::env::var("RUST_LOG").ok();
    let filter = cloudtrust_server::logging::filter(directives.as_deref(), default);
    let ansi = std::io::stderr().is_terminal();
    let logs = tracing_subscriber::registry()
        .with(filter)
        .with(RequestSpans::default());
    let json = std::env::var("CLOUDTRUST_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    // A layer per branch: its type depends on the layers under it.
    if json {
        let format = tracing_subscriber::fmt::layer().with_ansi(ansi);
        logs.with(format.with_writer(std::io::stderr).json()).init();
    } else {
        let format = tracing_subscriber::fmt::layer().with_ansi(ansi);
        logs.with(RequestSpanFields)
            .with(format.with_writer(std::io::stderr))
            .init();
    }
}

/// What a production deployment should not do, said loudly at start (not in `--dev`, where it
/// is expected).
fn warn_of_production_risks(server: &RunningServer, data_dir: &std::path::Path) {
    if let Some(address) = server.plain_addr.filter(|a| !a.ip().is_loopback()) {
        tracing::warn!(
            address = %address,
            "serving plain HTTP beyond this machine: secrets and tokens cross the network \
             unencrypted. Serve HTTPS only (tls_cert, tls_key, --no-plain-http) or listen on \
             127.0.0.1 behind a proxy that terminates TLS"
        );
    }
    if server.key_encryption_key_in_data_dir() {
        tracing::warn!(
            file = %data_dir.join("cloudtrust.kek").display(),
            "the key-encryption key is kept next to the database: a copy of the data dir \
             holds both. In production, give it in CLOUDTRUST_KEY_ENCRYPTION_KEY from a \
             secrets manager and keep it out of the data dir"
        );
    }
}

async fn serve(mut config: Config, dev_mode: bool) -> Result<()> {
    init_tracing("info");
    let stop = shutdown_signal()?;
    if dev_mode && config.mail_dir.is_none() && config.smtp_url().is_none() {
        // Invitations made in development land where the developer can read them, unless
        // the developer chose where they go.
        config.mail_dir = Some(config.data_dir.join(dev::MAIL_DIR));
    }
    let data_dir = config.data_dir.clone();
    let database = config.database_url();
    let mail = Delivery::of(&config)?;
    let server = RunningServer::start(config, Arc::new(SystemClock)).await?;
    tracing::info!(url = %server.base_url, "cloudtrust is listening");
    if !dev_mode {
        warn_of_production_risks(&server, &data_dir);
    }
    if let Some(address) = server.tls_addr {
        tracing::info!(address = %address, "cloudtrust is listening for HTTPS (HTTP/1.1 and HTTP/2)");
    }
    if let (Some(dev), Some(address)) = (&server.dev_certificates, server.tls_addr) {
        dev::announce_tls(dev, address);
    }
    if dev_mode {
        let mut credentials = dev::bootstrap(server.directory(), &data_dir).await?;
        credentials.tls = server
            .dev_certificates
            .as_ref()
            .zip(server.tls_addr)
            .map(|(dev, address)| (dev.ca_path.clone(), address.port()));
        dev::save(&data_dir, &credentials, &server.base_url)?;
        let places = dev::Places {
            data_dir: &data_dir,
            database: &database,
            mail: &mail,
        };
        dev::announce(&credentials, &server.base_url, &places);
    }
    server.run_until(stop).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Listens for SIGTERM and SIGINT from now on. Registered before the server announces itself:
/// a signal sent right after the announcement then stops it cleanly instead of killing it.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// The password from the first line of standard input, or a generated one (`true`), which
/// is then shown once.
pub fn read_password(from_stdin: bool) -> Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false))
    } else {
        Ok((passwords::generate(), true))
    }
}

async fn customer(f: Foundation, command: CustomerCommand, out: &Output) -> Result<()> {
    let actor = Actor::operator();
    match command {
        CustomerCommand::Create { id, name, region } => {
            let region: Region = region.parse()?;
            let customer = f
                .directory
                .create_customer(&actor, id.as_deref(), &name, region)
                .await?;
            out.customer(&customer)
        }
        CustomerCommand::List => out.customers(&f.directory.list_customers(&actor).await?),
    }
}

async fn admin(f: Foundation, command: AdminCommand, out: &Output) -> Result<()> {
    let actor = Actor::operator();
    match command {
        AdminCommand::Add(args) => {
            let admin = f
                .directory
                .add_administrator(&actor, &args.customer, args.new_administrator()?)
                .await?;
            out.administrator(&admin)
        }
        AdminCommand::Invite(args) => {
            // Made first so that a bad mail setting refuses the command before it invites.
            let notifier = Notifier::new(&f.config)?;
            let invitation = f
                .directory
                .invite_administrator(&actor, &args.customer, args.new_administrator()?)
                .await?;
            let base_url = match &f.config.public_url {
                Some(url) => url.trim_end_matches('/').to_owned(),
                None => format!("http://{}", f.config.listen),
            };
            notifier.deliver_invitation(&invitation, &base_url).await;
            out.invitation(&invitation, &invitation_link(&invitation, &base_url))
        }
        AdminCommand::SetAccess {
            customer,
            email,
            access,
        } => {
            let admin = f
                .directory
                .set_access(
                    &actor,
                    &customer,
                    AdministratorRef::Email(&email),
                    access.access()?,
                    None,
                )
                .await?;
            out.administrator(&admin)
        }
        AdminCommand::Remove { customer, email } => {
            let removed = f
                .directory
                .remove_administrator(&actor, &customer, AdministratorRef::Email(&email))
                .await?;
            out.removed_administrator(&removed)
        }
        AdminCommand::SetPassword {
            customer,
            email,
            password_stdin,
        } => {
            let (password, generated) = read_password(password_stdin)?;
            let admin = f
                .directory
                .set_password(
                    &actor,
                    &customer,
                    AdministratorRef::Email(&email),
                    &password,
                )
                .await?;
            out.password_set(&admin, generated.then_some(password.as_str()))
        }
        AdminCommand::List { customer } => {
            let all = f
                .directory
                .list_administrators(&actor, &customer, None)
                .await?;
            out.administrators(&all.items)
        }
        AdminCommand::Permissions => out.permissions(CATALOGUE),
    }
}

async fn client(f: Foundation, command: ClientCommand, out: &Output) -> Result<()> {
    let actor = Actor::operator();
    match command {
        ClientCommand::Create {
            customer,
            admin,
            name,
        } => {
            let created = f
                .directory
                .create_api_client(&actor, &customer, AdministratorRef::Email(&admin), &name)
                .await?;
            out.created_client(&created)
        }
        ClientCommand::List { customer, admin } => {
            let owner = admin.as_deref().map(AdministratorRef::Email);
            let clients = f
                .directory
                .list_api_clients(&actor, &customer, owner, None)
                .await?;
            out.clients(&clients.items)
        }
        ClientCommand::Delete { customer, id } => {
            if id.trim().is_empty() {
                bail!("--id must not be empty");
            }
            let client = f
                .directory
                .delete_api_client(&actor, &customer, &id)
                .await?;
            out.deleted_client(&client)
        }
    }
}

async fn smart_key(f: Foundation, command: SmartKeyCommand, out: &Output) -> Result<()> {
    let actor = Actor::operator();
    match command {
        SmartKeyCommand::Create { customer, admin } => {
            let created = f
                .directory
                .create_smart_key(&actor, &customer, AdministratorRef::Email(&admin))
                .await?;
            out.created_smart_key(&created)
        }
        SmartKeyCommand::List { customer, admin } => {
            let keys = f
                .directory
                .list_smart_keys(&actor, &customer, AdministratorRef::Email(&admin))
                .await?;
            out.smart_keys(&keys)
        }
        SmartKeyCommand::Delete { customer, key } => {
            let deleted = f
                .directory
                .delete_smart_key(&actor, &customer, &key)
                .await?;
            out.deleted_smart_key(&deleted)
        }
    }
}
