//! `serve --dev`: a demo customer, a Full administrator, an API client and two Workspace OAuth
//! clients (private and public), printed the way Citrix Cloud's tutorials use them and saved
//! to `cloudtrust-dev.env` for other shells.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use cloudtrust_server::domain::Directory;
use cloudtrust_server::domain::audit::Actor;
use cloudtrust_server::domain::customers::Region;
use cloudtrust_server::domain::directory::{AdministratorRef, NewAdministrator};
use cloudtrust_server::domain::end_users::NewEndUser;
use cloudtrust_server::domain::passwords;
use cloudtrust_server::domain::permissions::Access;
use cloudtrust_server::domain::workspace_clients::{ClientType, NewWorkspaceClient};
use cloudtrust_server::domain::workspace_sign_in::tokens::issuer_of;
use cloudtrust_server::error::Error;
use cloudtrust_server::notify::Delivery;
use cloudtrust_server::tls::{DevCertificates, hosts_line};

/// The file the credentials are saved to, in the data dir.
pub const ENV_FILE: &str = "cloudtrust-dev.env";
/// The folder, in the data dir, that invitations are written to in development mode.
pub const MAIL_DIR: &str = "mail";
/// The demo customer's id.
pub const CUSTOMER_ID: &str = "demo";
/// The demo administrator's email.
pub const ADMIN_EMAIL: &str = "admin@demo.example";
/// The demo end user's email: a person who signs in to the demo customer's Workspace
/// applications.
pub const WORKSPACE_USER: &str = "user@demo.example";
/// The redirect URI of the demo Workspace OAuth clients: a loopback port, as native
/// applications and command-line tools use (RFC 8252).
pub const WORKSPACE_REDIRECT_URI: &str = "http://127.0.0.1:53682/callback";

/// The demo Workspace OAuth clients.
pub struct WorkspaceClients {
    /// The private client's name (the `rpclients` path key).
    pub name: String,
    /// The private client's id.
    pub client_id: String,
    /// The private client's secret.
    pub secret: String,
    /// The public client's id.
    pub public_client_id: String,
}

/// Credentials of the demo API client and the demo administrator's Smart Tools key.
pub struct Credentials {
    pub client_id: String,
    pub client_secret: String,
    pub customer_id: String,
    pub smart_api_key: String,
    pub smart_secret: String,
    /// The demo administrator's password.
    pub console_password: String,
    /// The development CA and the HTTPS port, with `--tls-dev`.
    pub tls: Option<(PathBuf, u16)>,
    /// The demo Workspace OAuth clients.
    pub workspace: WorkspaceClients,
    /// The demo end user's password.
    pub workspace_password: String,
}

/// The value of `export NAME="…"` in a saved env file.
fn saved_value(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("export ")?.strip_prefix(name)?;
        Some(rest.strip_prefix('=')?.trim_matches('"').to_owned())
    })
}

fn ignore_conflict<T>(result: Result<T, Error>) -> Result<(), Error> {
    match result {
        Ok(_) | Err(Error::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates what is missing and returns working credentials: those saved earlier when they
/// still work, else a new API client's.
pub async fn bootstrap(directory: &Directory, data_dir: &Path) -> Result<Credentials> {
    let path = data_dir.join(ENV_FILE);
    let saved = fs::read_to_string(&path).unwrap_or_default();
    let value = |name: &str| saved_value(&saved, name);
    let actor = Actor::system();
    let client = match (value("CLIENT_ID"), value("CLIENT_SECRET")) {
        (Some(id), Some(secret)) if directory.verify_api_client_secret(&id, &secret).await? => {
            (id, secret)
        }
        _ => {
            ignore_conflict(
                directory
                    .create_customer(&actor, Some(CUSTOMER_ID), "Demo Customer", Region::Us)
                    .await,
            )?;
            let admin =
                NewAdministrator::with_email(ADMIN_EMAIL, Some("Demo Administrator"), Access::Full);
            ignore_conflict(
                directory
                    .add_administrator(&actor, CUSTOMER_ID, admin)
                    .await,
            )?;
            let created = directory
                .create_api_client(
                    &actor,
                    CUSTOMER_ID,
                    AdministratorRef::Email(ADMIN_EMAIL),
                    "dev-client",
                )
                .await?;
            (created.client.id, created.secret)
        }
    };
    let smart = match (value("SMART_API_KEY"), value("SMART_SECRET")) {
        (Some(key), Some(secret)) if directory.verify_smart_key(&key, &secret).await?.is_some() => {
            (key, secret)
        }
        _ => {
            let created = directory
                .create_smart_key(&actor, CUSTOMER_ID, AdministratorRef::Email(ADMIN_EMAIL))
                .await?;
            (created.key.api_key, created.secret)
        }
    };
    let console_password = match value("CONSOLE_PASSWORD") {
        Some(password)
            if directory
                .verify_sign_in(ADMIN_EMAIL, &password)
                .await?
                .iter()
                .any(|a| a.customer_id == CUSTOMER_ID) =>
        {
            password
        }
        _ => {
            let password = passwords::generate();
            directory
                .set_password(
                    &actor,
                    CUSTOMER_ID,
                    AdministratorRef::Email(ADMIN_EMAIL),
                    &password,
                )
                .await?;
            password
        }
    };
    let workspace = workspace_clients(directory, &value).await?;
    let workspace_password = end_user_password(directory, value("WORKSPACE_PASSWORD")).await?;
    let credentials = Credentials {
        workspace,
        workspace_password,
        console_password,
        client_id: client.0,
        client_secret: client.1,
        customer_id: CUSTOMER_ID.to_owned(),
        smart_api_key: smart.0,
        smart_secret: smart.1,
        tls: None,
    };
    Ok(credentials)
}

/// A demo Workspace OAuth client of each type, with the redirect URI and refresh tokens.
fn demo_workspace_client(display_name: &str, client_type: ClientType) -> NewWorkspaceClient {
    NewWorkspaceClient {
        display_name: display_name.to_owned(),
        client_type,
        redirect_uris: vec![WORKSPACE_REDIRECT_URI.to_owned()],
        post_logout_redirect_uris: vec![],
        require_user_consent: false,
        require_pkce: false,
        allow_offline_access: true,
        owner_contact: None,
    }
}

/// The saved Workspace OAuth clients when they still work, else new ones: the private one when
/// its saved secret no longer authenticates, the public one when it is gone or disabled.
async fn workspace_clients(
    directory: &Directory,
    value: &impl Fn(&str) -> Option<String>,
) -> Result<WorkspaceClients> {
    let actor = Actor::system();
    let owner = AdministratorRef::Email(ADMIN_EMAIL);
    let private = match (
        value("WORKSPACE_CLIENT_NAME"),
        value("WORKSPACE_CLIENT_ID"),
        value("WORKSPACE_CLIENT_SECRET"),
    ) {
        (Some(name), Some(id), Some(secret))
            if directory
                .verify_workspace_client_secret(&id, &secret)
                .await?
                .is_some() =>
        {
            (name, id, secret)
        }
        _ => {
            let new = demo_workspace_client("Demo Client", ClientType::Private);
            let created = directory
                .create_workspace_client(&actor, CUSTOMER_ID, owner, new)
                .await?;
            let secret = created
                .secret
                .context("a private Workspace OAuth client has a secret")?;
            (created.client.name, created.client.client_id, secret)
        }
    };
    let saved_public = value("WORKSPACE_PUBLIC_CLIENT_ID");
    let existing = directory
        .list_workspace_clients(&actor, CUSTOMER_ID)
        .await?
        .into_iter()
        .find(|c| {
            c.enabled
                && c.client_type == ClientType::Public
                && saved_public.as_deref() == Some(c.client_id.as_str())
        });
    let public_client_id = match existing {
        Some(client) => client.client_id,
        None => {
            let new = demo_workspace_client("Demo Native App", ClientType::Public);
            directory
                .create_workspace_client(&actor, CUSTOMER_ID, owner, new)
                .await?
                .client
                .client_id
        }
    };
    Ok(WorkspaceClients {
        name: private.0,
        client_id: private.1,
        secret: private.2,
        public_client_id,
    })
}

/// The demo end user's saved password when it still works, else a new one (the user is added
/// when missing).
async fn end_user_password(directory: &Directory, saved: Option<String>) -> Result<String> {
    if let Some(password) = saved
        && directory
            .verify_end_user_password(CUSTOMER_ID, WORKSPACE_USER, &password)
            .await?
            .is_some()
    {
        return Ok(password);
    }
    let actor = Actor::system();
    let password = passwords::generate();
    let exists = directory
        .list_end_users(&actor, CUSTOMER_ID)
        .await?
        .iter()
        .any(|u| u.email == WORKSPACE_USER);
    if exists {
        directory
            .set_end_user_password(&actor, CUSTOMER_ID, WORKSPACE_USER, &password)
            .await?;
    } else {
        let new = NewEndUser {
            email: WORKSPACE_USER.to_owned(),
            given_name: "Demo".to_owned(),
            family_name: "User".to_owned(),
        };
        directory
            .add_end_user(&actor, CUSTOMER_ID, &new, &password)
            .await?;
    }
    Ok(password)
}

fn token_url(base_url: &str) -> String {
    format!("{base_url}/cctrustoauth2/root/tokens/clients")
}

fn exports(c: &Credentials) -> String {
    format!(
        "export CLIENT_ID=\"{}\"\nexport CLIENT_SECRET=\"{}\"\nexport CUSTOMER_ID=\"{}\"\n",
        c.client_id, c.client_secret, c.customer_id
    )
}

fn smart_exports(c: &Credentials) -> String {
    format!(
        "export SMART_API_KEY=\"{}\"\nexport SMART_SECRET=\"{}\"\n",
        c.smart_api_key, c.smart_secret
    )
}

fn console_exports(c: &Credentials) -> String {
    format!(
        "export CONSOLE_EMAIL=\"{ADMIN_EMAIL}\"\nexport CONSOLE_PASSWORD=\"{}\"\n",
        c.console_password
    )
}

fn workspace_exports(c: &Credentials, base_url: &str) -> String {
    let w = &c.workspace;
    format!(
        "export WORKSPACE_CLIENT_NAME=\"{}\"\nexport WORKSPACE_CLIENT_ID=\"{}\"\n\
         export WORKSPACE_CLIENT_SECRET=\"{}\"\nexport WORKSPACE_PUBLIC_CLIENT_ID=\"{}\"\n\
         export WORKSPACE_REDIRECT_URI=\"{WORKSPACE_REDIRECT_URI}\"\n\
         export WORKSPACE_USER=\"{WORKSPACE_USER}\"\nexport WORKSPACE_PASSWORD=\"{}\"\n\
         export WORKSPACE_ISSUER=\"{}\"\n",
        w.name,
        w.client_id,
        w.secret,
        w.public_client_id,
        c.workspace_password,
        issuer_of(base_url)
    )
}

fn tls_exports(c: &Credentials) -> String {
    match &c.tls {
        Some((ca, port)) => format!(
            "export DEV_CA=\"{}\"\nexport TLS_PORT=\"{port}\"\n",
            ca.display()
        ),
        None => String::new(),
    }
}

/// Writes `cloudtrust-dev.env` in `data_dir` (mode 0600) through a temporary file, so a reader
/// never sees half.
pub fn save(data_dir: &Path, c: &Credentials, base_url: &str) -> Result<()> {
    let path = data_dir.join(ENV_FILE);
    let contents = format!(
        "# cloudtrust development credentials (demo customer). Keep this file private.\n{}export token_url=\"{}\"\n{}{}{}{}",
        exports(c),
        token_url(base_url),
        smart_exports(c),
        console_exports(c),
        workspace_exports(c, base_url),
        tls_exports(c)
    );
    cloudtrust_server::private_files::replace(&path, contents.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Where a development server keeps things, for the announcement.
pub struct Places<'a> {
    /// The data dir (with the env file).
    pub data_dir: &'a Path,
    /// The database URL.
    pub database: &'a str,
    /// Where invitations go.
    pub mail: &'a Delivery,
}

/// Prints the credentials and the seed's curl command for this server.
pub fn announce(c: &Credentials, base_url: &str, places: &Places<'_>) {
    let Places {
        data_dir,
        database,
        mail,
    } = places;
    let env_file = data_dir.join(ENV_FILE);
    println!();
    println!("cloudtrust is running in development mode at {base_url}");
    println!("Database: {database}");
    println!();
    println!("A demo customer, a Full administrator ({ADMIN_EMAIL}) and an API client are ready:");
    println!();
    print!("{}", exports(c));
    println!();
    println!(
        "Get a bearer token as Citrix Cloud's tutorial does (in another shell, first run: source {}):",
        env_file.display()
    );
    println!();
    println!("token_url=\"{}\"", token_url(base_url));
    println!(
        "curl ${{token_url}} -d \"grant_type=client_credentials&client_id=${{CLIENT_ID}}&client_secret=${{CLIENT_SECRET}}\""
    );
    println!();
    println!("The demo administrator's Smart Tools API key (Smart Tools authentication, /v0):");
    println!();
    print!("{}", smart_exports(c));
    println!();
    println!(
        "Sign in to the web console at {base_url}/console as the demo administrator; the \
         developer portal is at {base_url}/portal:"
    );
    println!();
    print!("{}", console_exports(c));
    println!();
    println!(
        "Workspace OAuth clients of the demo customer (private and public, redirect URI {WORKSPACE_REDIRECT_URI}) and an end user who signs in to its applications:"
    );
    println!();
    print!("{}", workspace_exports(c, base_url));
    println!();
    println!(
        "The user signs in to those applications through the OpenID Connect server at $WORKSPACE_ISSUER \
         (discovery: {}/.well-known/openid-configuration).",
        issuer_of(base_url)
    );
    println!();
    println!(
        "List them as Citrix's Workspace API documentation does, with a bearer token in $token:"
    );
    println!();
    println!(
        "curl {base_url}/${{CUSTOMER_ID}}/rpclients --header \"Authorization: CWSAuth bearer=$token\""
    );
    println!();
    println!("Invitations to new administrators are {mail}");
    println!();
}

/// Prints where the development CA is and the hosts-file line that sends unmodified clients
/// to this server.
pub fn announce_tls(dev: &DevCertificates, address: std::net::SocketAddr) {
    println!();
    println!("HTTPS (HTTP/1.1 and HTTP/2) is served on {address} with a development certificate.");
    println!("Trust this CA in the clients: {}", dev.ca_path.display());
    println!("Send Citrix Cloud's hosts here with this line in /etc/hosts:");
    println!();
    println!("{}", hosts_line(&address.ip().to_string(), &dev.hosts));
    if address.port() != 443 {
        println!();
        println!(
            "Unmodified clients call port 443: serve there (--tls-listen {}:443, as root) or forward it.",
            address.ip()
        );
    }
}
