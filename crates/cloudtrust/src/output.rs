//! What the commands print: aligned text for people, JSON (`--json`) for scripts.

use anyhow::Result;
use cloudtrust_server::domain::administrators::Administrator;
use cloudtrust_server::domain::api_clients::{ApiClient, CreatedApiClient};
use cloudtrust_server::domain::customers::Customer;
use cloudtrust_server::domain::directory::{Invitation, RemovedAdministrator};
use cloudtrust_server::domain::permissions::Permission;
use cloudtrust_server::domain::smart_keys::{CreatedSmartKey, SmartKey};
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The output mode.
pub struct Output {
    json: bool,
}

#[derive(Serialize)]
struct AdministratorJson<'a> {
    id: &'a str,
    customer_id: &'a str,
    email: &'a str,
    display_name: &'a str,
    access_type: &'static str,
    permissions: Vec<String>,
    permission_generation: i64,
    pending: bool,
    created_at: i64,
    updated_at: i64,
}

impl<'a> From<&'a Administrator> for AdministratorJson<'a> {
    fn from(a: &'a Administrator) -> Self {
        AdministratorJson {
            id: &a.id,
            customer_id: &a.customer_id,
            email: &a.email,
            display_name: &a.display_name,
            access_type: a.access.access_type().as_str(),
            permissions: a.access.permission_names(),
            permission_generation: a.permission_generation,
            pending: a.pending,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// Unix seconds as RFC 3339.
pub fn when(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// Prints `value` as indented JSON.
pub fn print_json(value: &impl Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

impl Output {
    /// JSON when `json`, else text.
    pub fn new(json: bool) -> Self {
        Output { json }
    }

    /// Whether to print JSON.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// A command that only reports success.
    pub fn done(&self, message: &str) -> Result<()> {
        if self.json {
            print_json(&json!({ "status": "ok", "message": message }))
        } else {
            println!("{message}");
            Ok(())
        }
    }

    /// One customer.
    pub fn customer(&self, c: &Customer) -> Result<()> {
        if self.json {
            return print_json(c);
        }
        println!("Customer ID: {}", c.id);
        println!("Name:        {}", c.name);
        println!("Region:      {}", c.region);
        Ok(())
    }

    /// Customers.
    pub fn customers(&self, customers: &[Customer]) -> Result<()> {
        if self.json {
            return print_json(&customers);
        }
        println!("{:<14} {:<6} NAME", "ID", "REGION");
        for c in customers {
            println!("{:<14} {:<6} {}", c.id, c.region.as_str(), c.name);
        }
        Ok(())
    }

    /// One administrator.
    pub fn administrator(&self, a: &Administrator) -> Result<()> {
        if self.json {
            return print_json(&AdministratorJson::from(a));
        }
        println!("Administrator: {} ({})", a.email, a.display_name);
        println!("ID:            {}", a.id);
        println!("Access:        {}", describe_access(a));
        Ok(())
    }

    /// A password set; a generated one is shown this once.
    pub fn password_set(&self, a: &Administrator, generated: Option<&str>) -> Result<()> {
        if self.json {
            let mut body = json!({ "email": a.email, "customer_id": a.customer_id });
            if let Some(password) = generated {
                body["password"] = json!(password);
            }
            return print_json(&body);
        }
        match generated {
            Some(password) => {
                println!("Password of {} set to: {password}", a.email);
                println!("It is shown only now.");
            }
            None => println!("Password of {} set.", a.email),
        }
        Ok(())
    }

    /// A new invitation and the link that accepts it, shown once.
    pub fn invitation(&self, invitation: &Invitation, link: &str) -> Result<()> {
        let a = &invitation.administrator;
        if self.json {
            return print_json(&json!({
                "administrator": AdministratorJson::from(a),
                "invitation_link": link,
                "expires_at": invitation.expires_at,
            }));
        }
        println!(
            "Invited {} ({}), pending until accepted.",
            a.email,
            describe_access(a)
        );
        println!(
            "Invitation link (valid until {}):",
            when(invitation.expires_at)
        );
        println!("{link}");
        Ok(())
    }

    /// Administrators.
    pub fn administrators(&self, admins: &[Administrator]) -> Result<()> {
        if self.json {
            let rows: Vec<AdministratorJson<'_>> = admins.iter().map(Into::into).collect();
            return print_json(&rows);
        }
        println!("{:<32} {:<8} ACCESS", "EMAIL", "STATE");
        for a in admins {
            let state = if a.pending { "pending" } else { "active" };
            println!("{:<32} {state:<8} {}", a.email, describe_access(a));
        }
        Ok(())
    }

    /// A removed administrator.
    pub fn removed_administrator(&self, r: &RemovedAdministrator) -> Result<()> {
        if self.json {
            return print_json(&json!({
                "removed": AdministratorJson::from(&r.administrator),
                "removed_clients": r.removed_clients,
            }));
        }
        println!(
            "Removed administrator {} and {} API client(s).",
            r.administrator.email,
            r.removed_clients.len()
        );
        Ok(())
    }

    /// The permission catalogue.
    pub fn permissions(&self, catalogue: &[Permission]) -> Result<()> {
        if self.json {
            let rows: Vec<_> = catalogue
                .iter()
                .map(|p| json!({"name": p.name, "serviceName": p.service_name, "displayName": p.display_name}))
                .collect();
            return print_json(&rows);
        }
        for p in catalogue {
            println!("{}", p.name);
        }
        Ok(())
    }

    /// A new API client with its secret, shown once.
    pub fn created_client(&self, c: &CreatedApiClient) -> Result<()> {
        if self.json {
            return print_json(&json!({
                "customer_id": c.client.customer_id,
                "client_id": c.client.id,
                "client_secret": c.secret,
            }));
        }
        println!("ID and Secret have been created successfully.");
        println!("Customer ID:   {}", c.client.customer_id);
        println!("Client ID:     {}", c.client.id);
        println!("Client Secret: {}", c.secret);
        println!("The secret is shown only now: keep it somewhere safe.");
        Ok(())
    }

    /// API clients.
    pub fn clients(&self, clients: &[ApiClient]) -> Result<()> {
        if self.json {
            return print_json(&clients);
        }
        println!(
            "{:<36}  {:<20}  {:<20}  NAME",
            "CLIENT ID", "CREATED", "LAST USED"
        );
        for c in clients {
            println!(
                "{:<36}  {:<20}  {:<20}  {}",
                c.id,
                when(c.created_at),
                c.last_used_at
                    .map(when)
                    .unwrap_or_else(|| "never".to_owned()),
                c.name
            );
        }
        Ok(())
    }

    /// A new Smart Tools API key with its secret, shown once.
    pub fn created_smart_key(&self, k: &CreatedSmartKey) -> Result<()> {
        if self.json {
            return print_json(&json!({
                "api_key": k.key.api_key,
                "secret": k.secret,
                "administrator_id": k.key.administrator_id,
            }));
        }
        println!("Smart Tools API key: {}", k.key.api_key);
        println!("Secret:              {}", k.secret);
        println!("The secret is shown only now: keep it somewhere safe.");
        Ok(())
    }

    /// Smart Tools API keys.
    pub fn smart_keys(&self, keys: &[SmartKey]) -> Result<()> {
        if self.json {
            return print_json(&keys);
        }
        println!("{:<34}  CREATED", "API KEY");
        for k in keys {
            println!("{:<34}  {}", k.api_key, when(k.created_at));
        }
        Ok(())
    }

    /// A deleted Smart Tools API key.
    pub fn deleted_smart_key(&self, k: &SmartKey) -> Result<()> {
        if self.json {
            return print_json(&json!({ "deleted": k }));
        }
        println!("Deleted Smart Tools API key {}.", k.api_key);
        Ok(())
    }

    /// A deleted API client.
    pub fn deleted_client(&self, c: &ApiClient) -> Result<()> {
        if self.json {
            return print_json(&json!({ "deleted": c }));
        }
        println!("Deleted API client {} ({}).", c.id, c.name);
        Ok(())
    }
}

fn describe_access(a: &Administrator) -> String {
    match a.access.access_type() {
        cloudtrust_server::domain::permissions::AccessType::Full => "full".to_owned(),
        cloudtrust_server::domain::permissions::AccessType::Custom => {
            format!("custom: {}", a.access.permission_names().join(", "))
        }
    }
}
