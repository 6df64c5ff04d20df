//! The permission catalogue and an administrator's access.
//!
//! The catalogue is kept here, in one list, so that each service adds its permissions in one
//! place and every surface (CLI, REST API, console) offers the same names.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One named permission a custom administrator may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// The name used on the wire and on the command line, e.g. `API Clients`.
    pub name: &'static str,
    /// The service the permission belongs to.
    pub service_name: &'static str,
    /// Text shown to people.
    pub display_name: &'static str,
}

/// Manage Workspace OAuth clients (`rpclients`).
pub const WORKSPACE_OAUTH_CLIENTS: &str = "Workspace OAuth Clients";
/// Create and manage one's own API clients.
pub const API_CLIENTS: &str = "API Clients";
/// Manage other administrators.
pub const ADMINISTRATORS: &str = "Administrators";
/// Read and manage notifications.
pub const NOTIFICATIONS: &str = "Notifications";
/// Read the system log.
pub const SYSTEM_LOG: &str = "System Log";

/// Every permission cloudtrust knows.
pub const CATALOGUE: &[Permission] = &[
    Permission {
        name: ADMINISTRATORS,
        service_name: "Platform",
        display_name: "Administrators",
    },
    Permission {
        name: API_CLIENTS,
        service_name: "Platform",
        display_name: "API Clients",
    },
    Permission {
        name: NOTIFICATIONS,
        service_name: "Platform",
        display_name: "Notifications",
    },
    Permission {
        name: SYSTEM_LOG,
        service_name: "Platform",
        display_name: "System Log",
    },
    Permission {
        name: WORKSPACE_OAUTH_CLIENTS,
        service_name: "Platform",
        display_name: "Workspace OAuth Clients",
    },
];

/// Looks a permission up by name, ignoring case, and returns its canonical form.
pub fn find(name: &str) -> Option<&'static Permission> {
    CATALOGUE
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
}

/// Kind of access, as stored and as shown on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessType {
    /// Every permission, now and in future.
    Full,
    /// Only the listed permissions.
    Custom,
}

impl AccessType {
    /// `full` or `custom`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessType::Full => "full",
            AccessType::Custom => "custom",
        }
    }

    /// Parses `full` / `custom` (any case).
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(AccessType::Full),
            "custom" => Ok(AccessType::Custom),
            other => Err(Error::invalid(
                "accessType",
                format!("`{other}` is neither `full` nor `custom`"),
            )),
        }
    }
}

/// What an administrator (and so each of its API clients) may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "access_type", content = "permissions", rename_all = "lowercase")]
pub enum Access {
    /// Everything.
    Full,
    /// The named permissions only (canonical names from [`CATALOGUE`]).
    Custom(BTreeSet<String>),
}

impl Access {
    /// Custom access from permission names; each must be in the catalogue.
    pub fn custom<I, S>(names: I) -> Result<Access>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = BTreeSet::new();
        for name in names {
            let name = name.as_ref();
            let permission = find(name).ok_or_else(|| {
                let known: Vec<&str> = CATALOGUE.iter().map(|p| p.name).collect();
                Error::invalid(
                    "permission",
                    format!("unknown permission `{name}`; known: {}", known.join(", ")),
                )
            })?;
            set.insert(permission.name.to_owned());
        }
        Ok(Access::Custom(set))
    }

    /// Full or custom.
    pub fn access_type(&self) -> AccessType {
        match self {
            Access::Full => AccessType::Full,
            Access::Custom(_) => AccessType::Custom,
        }
    }

    /// Whether this access includes `permission`.
    pub fn allows(&self, permission: &str) -> bool {
        match self {
            Access::Full => true,
            Access::Custom(set) => set.contains(permission),
        }
    }

    /// Whether `self` holds everything `other` holds.
    pub fn includes(&self, other: &Access) -> bool {
        match (self, other) {
            (Access::Full, _) => true,
            (Access::Custom(_), Access::Full) => false,
            (Access::Custom(mine), Access::Custom(theirs)) => theirs.is_subset(mine),
        }
    }

    /// The permission names held (all of the catalogue for Full access).
    pub fn permission_names(&self) -> Vec<String> {
        match self {
            Access::Full => CATALOGUE.iter().map(|p| p.name.to_owned()).collect(),
            Access::Custom(set) => set.iter().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_access_canonicalises_names_and_refuses_unknown_ones() {
        let access = Access::custom(["api clients", "NOTIFICATIONS"]).expect("known names");
        assert!(access.allows(API_CLIENTS));
        assert!(access.allows(NOTIFICATIONS));
        assert!(!access.allows(ADMINISTRATORS));
        assert!(Access::custom(["Root"]).is_err());
    }

    #[test]
    fn inclusion_orders_access() {
        let notifications = Access::custom([NOTIFICATIONS]).expect("known");
        let two = Access::custom([NOTIFICATIONS, API_CLIENTS]).expect("known");
        assert!(Access::Full.includes(&two));
        assert!(two.includes(&notifications));
        assert!(!notifications.includes(&two));
        assert!(!two.includes(&Access::Full));
    }
}
