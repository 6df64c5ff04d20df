//! Customers: created by the deployment's operator only.

use serde_json::json;

use super::{Directory, Event};
use crate::domain::administrators::validate_text;
use crate::domain::audit::{Actor, event_types};
use crate::domain::changes::ChangeKind;
use crate::domain::customers::{self, Customer, Region};
use crate::error::{Error, Result};
use crate::store::{self, is_unique_violation};

impl Directory {
    fn require_operator(actor: &Actor, doing: &str) -> Result<()> {
        if actor.access.is_some() {
            return Err(Error::Forbidden(format!(
                "customers are {doing} by the deployment's operator"
            )));
        }
        Ok(())
    }

    /// Creates a customer with the given id (validated) or a generated one; the operator
    /// only.
    pub async fn create_customer(
        &self,
        actor: &Actor,
        id: Option<&str>,
        name: &str,
        region: Region,
    ) -> Result<Customer> {
        let id = match id {
            Some(id) => {
                customers::validate_id(id)?;
                id.to_owned()
            }
            None => customers::generate_id(),
        };
        Self::require_operator(actor, "created")?;
        let mut customer = Customer {
            name: validate_text("name", name, 200)?,
            id,
            region,
            site_id: uuid::Uuid::new_v4().to_string(),
            company_id: customers::generate_company_id(),
            created_at: self.clock.now(),
        };
        // The id is checked first, so a unique violation of the insert is the random company
        // id meeting a taken one (or a concurrent creation of the same id, found on the next
        // round): draw again.
        let mut rounds = 0;
        let tx = loop {
            let mut tx = self.store.begin().await?;
            if store::customers::get(&mut tx, &customer.id)
                .await?
                .is_some()
            {
                return Err(Error::Conflict(format!(
                    "customer `{}` already exists",
                    customer.id
                )));
            }
            match store::customers::insert(&mut tx, &customer).await {
                Ok(()) => break tx,
                Err(e) if is_unique_violation(&e) && rounds < 3 => {
                    rounds += 1;
                    customer.company_id = customers::generate_company_id();
                }
                Err(e) => return Err(e),
            }
        };
        self.commit(
            tx,
            actor,
            Event {
                change: ChangeKind::Customer,
                event_type: event_types::CUSTOMER_CREATE,
                customer_id: &customer.id,
                target_id: &customer.id,
                target_name: &customer.name,
                before: None,
                after: Some(json!(customer)),
                message: format!("Customer {} created", customer.id),
            },
        )
        .await?;
        Ok(customer)
    }

    /// Every customer; the operator only.
    pub async fn list_customers(&self, actor: &Actor) -> Result<Vec<Customer>> {
        Self::require_operator(actor, "listed")?;
        store::customers::all(&mut *self.store.conn().await?).await
    }

    /// The customer with `id`, for a session or a credential that already names it.
    pub async fn lookup_customer(&self, id: &str) -> Result<Customer> {
        Self::require_customer(&mut *self.store.conn().await?, id).await
    }
}
