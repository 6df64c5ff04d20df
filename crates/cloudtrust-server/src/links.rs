//! Public URLs that leave the server in messages and command output. They live here, apart
//! from the HTTP layer that serves them, so that code sending messages does not depend on the
//! handlers (and the handlers route the same paths these links point to).

use crate::domain::directory::Invitation;

/// Where invitation links point, under the public base URL.
pub const INVITATIONS_PATH: &str = "/invitations";

/// The link that accepts `invitation`, under the public base URL `base_url` (no trailing `/`).
pub fn invitation_link(invitation: &Invitation, base_url: &str) -> String {
    format!("{base_url}{INVITATIONS_PATH}/{}", invitation.token)
}
